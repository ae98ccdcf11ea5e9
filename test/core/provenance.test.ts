// Ledger provenance in the resolver, verify and replay (core/): whose records answer, what
// verify reports, and what replay promotes.
import { describe, expect, it } from 'vitest'
import { encodeStep, loadStep, type StepRecord } from '../../core/ledger.js'
import { createRegistry } from '../../core/registry.js'
import { replayHashpath } from '../../core/replay.js'
import { createResolver, type LedgerTrust } from '../../core/resolve.js'
import { stepKey, type Store } from '../../core/store.js'
import { verifyHashpath } from '../../core/verify.js'
import { messageDevice } from '../../devices/message/index.js'
import { memoryStore } from '../../devices/store/backends/memory.js'
import { memoryLogger } from '../helpers/log.js'

const ME = 'M'.repeat(43)
const FRIEND = 'F'.repeat(43)
const STRANGER = 'S'.repeat(43)
const PATH = '/~message@1.0&a=1/set&b=2/set&c=3/c'

function node(store: Store, trusted: Set<string>) {
  const ledger: LedgerTrust = { self: ME, trusts: (w) => trusted.has(w) }
  return createResolver({ registry: createRegistry([messageDevice()]), store, log: memoryLogger(), ledger })
}

/** Rewrites every record of a chain as written by `writer` (what an import of its export does). */
async function relabel(store: Store, hashpath: string, writer: string): Promise<void> {
  for (let at: string | undefined = hashpath; at !== undefined;) {
    const record: StepRecord = (await loadStep(store, at))!
    await store.put(stepKey(at), encodeStep({ ...record, writer }))
    at = record.base.includes('/') ? record.base : undefined
  }
}

describe('ledger provenance', () => {
  it('records this node writes name it; verify reports one run of its own steps', async () => {
    const store = memoryStore()
    const r = await node(store, new Set()).resolve(PATH)
    expect((await loadStep(store, r.hashpath))?.writer).toBe(ME)
    expect(await verifyHashpath(store, r.hashpath, undefined, { self: ME, trusts: () => false })).toMatchObject({
      valid: true, untrusted: 0, writers: [{ writer: ME, from: 1, to: 3, trusted: true }],
    })
  })

  it('a stranger\'s record never answers (a fresh node, the hot cache, only-if-cached); a trusted writer\'s does', async () => {
    const store = memoryStore()
    await node(store, new Set()).resolve(PATH)
    const { hashpath } = await node(store, new Set()).resolve(PATH)
    await relabel(store, hashpath, STRANGER)
    const cold = node(store, new Set())
    const again = await cold.resolve(PATH)
    expect([again.cached, again.meta.get('untrusted-record')]).toEqual([false, STRANGER])
    await expect(cold.resolve(PATH, undefined, { cache: { onlyIfCached: true } })).rejects.toMatchObject({ status: 504 })
    // The record was not replaced by the re-execution.
    expect((await loadStep(store, hashpath))?.writer).toBe(STRANGER)
    const trusted = new Set([STRANGER])
    const friendly = node(store, trusted)
    expect((await friendly.resolve(PATH)).cached).toBe(true)
    // Trust withdrawn: the hot cache obeys at once.
    trusted.clear()
    expect((await friendly.resolve(PATH)).cached).toBe(false)
  })

  it('verify counts untrusted steps in runs; legacy records (no writer) are nobody\'s', async () => {
    const store = memoryStore()
    const { hashpath } = await node(store, new Set()).resolve(PATH)
    const last = (await loadStep(store, hashpath))!
    await store.put(stepKey(hashpath), encodeStep({ ...last, writer: '' }))
    const report = await verifyHashpath(store, hashpath, undefined, { self: ME, trusts: (w) => w === FRIEND })
    expect(report).toMatchObject({ valid: true, untrusted: 1, writers: [{ writer: ME, from: 1, to: 2, trusted: true }, { writer: '', from: 3, to: 3, trusted: false }] })
  })

  it('replay promotes the records it reproduces, and only the clean prefix of a chain', async () => {
    const store = memoryStore()
    const { hashpath } = await node(store, new Set()).resolve(PATH)
    await relabel(store, hashpath, STRANGER)
    // The second step's recorded result is forged (a message that exists, with the wrong content).
    const second = (await loadStep(store, hashpath))!.base
    // {a: 1, b: 9, c: 3}: step 3 (`c`) reproduces on it, yet ran on a base no honest step made.
    const forged = (await node(store, new Set()).resolve('/~message@1.0&a=1/set&b=9/set&c=3')).id
    await store.put(stepKey(second), encodeStep({ ...(await loadStep(store, second))!, result: forged }))
    const report = await replayHashpath(node(store, new Set()), hashpath)
    // Step 1 reproduced and is promoted; step 2 diverges; step 3 ran on a forged base: not promoted.
    expect(report).toMatchObject({ steps: 3, verified: 2, divergent: 1, promoted: 1, 'first-divergence': { step: 2 } })
    const writers = (await verifyHashpath(store, hashpath, undefined, { self: ME, trusts: () => false })).writers
    expect(writers).toEqual([{ writer: ME, from: 1, to: 1, trusted: true }, { writer: STRANGER, from: 2, to: 3, trusted: false }])
  })
})
