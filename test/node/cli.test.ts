// The real binary: serve over HTTP on the embedded LMDB store, verify from the CLI while it
// runs, shut down on SIGTERM, start again on the same data dir and verify everything again.
import { afterAll, describe, expect, it } from 'vitest'
import { messageKey } from '../../core/store.js'
import { loadStep } from '../../core/ledger.js'
import { openStore } from '../../devices/store/open.js'
import { runCli, startServer, type ServerProcess } from '../helpers/process.js'
import { sharedWalletPath, tempDir } from '../helpers/node.js'

const data = tempDir()
afterAll(() => data.cleanup())

describe('hashbeam serve + verify on LMDB', () => {
  let server: ServerProcess
  const hashpaths: string[] = []

  it('serves requests and verifies them from another process', async () => {
    server = await startServer(['--data', data.dir, '--wallet', sharedWalletPath()])
    for (const path of ['/~message@1.0&a=1/set&b=2/set&c=3/c', '/~message@1.0&hello=world/hello', '/~calc@1.0/add&a+integer=2&b+integer=3']) {
      const res = await fetch(server.url + path)
      if (path.includes('calc')) {
        expect(res.status).toBe(404)
        continue
      }
      expect(res.status).toBe(200)
      hashpaths.push(res.headers.get('hashpath') ?? '')
    }
    const verified = await runCli(['verify', hashpaths[0] ?? '', '--data', data.dir])
    expect(verified.code).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true, steps: 3 })
  })

  it('shuts down cleanly on SIGTERM', async () => {
    expect(await server.stop('SIGTERM')).toBe(0)
    expect(server.stderr()).toContain('SIGTERM received')
  })

  it('after a restart on the same data dir everything verifies and repeats are cache hits', async () => {
    for (const hp of hashpaths) expect((await runCli(['verify', hp, '--data', data.dir])).code).toBe(0)
    server = await startServer(['--data', data.dir, '--wallet', sharedWalletPath(), '--device', 'examples/calc-device.js'])
    const again = await fetch(`${server.url}/~message@1.0&a=1/set&b=2/set&c=3/c`)
    expect([again.headers.get('hashpath'), again.headers.get('ao-cache')]).toEqual([hashpaths[0], 'hit'])
    expect(await (await fetch(`${server.url}/~calc@1.0/add&a+integer=2&b+integer=3`)).text()).toBe('5')
    const verify = await fetch(`${server.url}/~replay@1.0/verify&hashpath=${encodeURIComponent(hashpaths[0] ?? '')}`, { headers: { accept: 'application/json' } })
    expect(await verify.json()).toMatchObject({ valid: true })
    expect(await server.stop('SIGINT')).toBe(0)
  })

  it('a flipped byte in a stored message makes the CLI verify fail (exit 1) and name the step', async () => {
    const store = await openStore('lmdb', { dataDir: data.dir })
    const hp = hashpaths[0] ?? ''
    const last = await loadStep(store, hp)
    const bytes = (await store.get(messageKey(last?.result ?? ''))) as Uint8Array
    const flipped = bytes.slice()
    flipped[0] = (flipped[0] ?? 0) ^ 0x01
    await store.put(messageKey(last?.result ?? ''), flipped)
    await store.close()
    const res = await runCli(['verify', hp, '--data', data.dir])
    expect(res.code).toBe(1)
    expect(JSON.parse(res.stdout)).toMatchObject({ valid: false, failure: { step: 3, reason: 'corrupt-message' } })
  })

  it('bad usage exits 2 with the usage text', async () => {
    const res = await runCli(['verify'])
    expect(res.code).toBe(2)
    expect(res.stderr).toContain('usage: hashbeam')
    expect((await runCli(['frobnicate'])).code).toBe(2)
  })
})
