// A device's code is part of its identity: the ledger answers a step only while the
// implementation that computed it is loaded; replay names a changed implementation as such.
import { describe, expect, it } from 'vitest'
import { createRegistry } from '../../core/registry.js'
import { replayHashpath } from '../../core/replay.js'
import { createResolver } from '../../core/resolve.js'
import type { Device } from '../../core/types.js'
import { messageDevice } from '../../devices/message/index.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { memoryLogger } from '../helpers/log.js'

const greeter = (implementation: string | undefined, word: string): Device => ({
  name: 'greet@1.0', ...(implementation === undefined ? {} : { implementation }),
  keys: { hello: () => `${word}, ada` },
})

describe('device implementation identity', () => {
  const store = memoryStore()
  const nodeWith = (device: Device) => createResolver({ registry: createRegistry([messageDevice(), device]), store, log: memoryLogger() })

  it('the same code answers from the ledger; edited code computes afresh and is then the one recorded', async () => {
    const first = await nodeWith(greeter('sha256:aaa', 'hello')).resolve('/~greet@1.0/hello')
    expect([first.value, first.cached]).toEqual(['hello, ada', false])
    // A restart with the same module: answered from the ledger.
    const again = await nodeWith(greeter('sha256:aaa', 'hello')).resolve('/~greet@1.0/hello')
    expect([again.value, again.cached]).toEqual(['hello, ada', true])
    // The module was edited: a fresh answer, flagged, never the old one.
    const edited = await nodeWith(greeter('sha256:bbb', 'hi')).resolve('/~greet@1.0/hello')
    expect([edited.value, edited.cached, edited.meta.get('implementation-changed')]).toEqual(['hi, ada', false, 'sha256:aaa'])
    expect(edited.hashpath).toBe(first.hashpath)
    // …and from then on the new code's answer is the recorded one.
    const later = await nodeWith(greeter('sha256:bbb', 'hi')).resolve('/~greet@1.0/hello')
    expect([later.value, later.cached]).toEqual(['hi, ada', true])
  })

  it('replay names a changed implementation, not a fault', async () => {
    const { hashpath } = await nodeWith(greeter('sha256:ccc', 'hey')).resolve('/~greet@1.0/hello&n=1')
    const report = await replayHashpath(nodeWith(greeter('sha256:ddd', 'yo')), hashpath)
    expect(report['first-divergence']).toMatchObject({ reason: 'implementation-changed', detail: expect.stringContaining('sha256:ccc') })
    const same = await replayHashpath(nodeWith(greeter('sha256:ccc', 'hey')), hashpath)
    expect([same.verified, same.divergent]).toEqual([1, 0])
  })
})
