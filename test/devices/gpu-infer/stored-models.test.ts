/**
 * Models by hash: a GGUF uploaded to store@1.0 over HTTP (streamed from its file) is usable as
 * `model=<sha256>` by gpu-infer, and the result names that model by the same sha256. A sha256
 * the store does not hold is still a 404, and a stored blob that is not a model is refused.
 */
import { createReadStream } from 'node:fs'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HashbeamNode } from '../../../node/index.js'
import { testNode } from '../../helpers/node.js'
import { modelDir, type ModelDir } from './fixtures.js'

let models: ModelDir
let node: HashbeamNode
let path: string
const URL_BASE = 'http://hashbeam.test'
const JSON_ACCEPT = { accept: 'application/json' }

beforeAll(async () => {
  models = await modelDir()
  path = await models.make('uploaded', { size: 'tiny', seed: 11 })
  // Engine settings as in fixtures.ts: CPU, one thread, a small context.
  node = await testNode({ config: { gpu: false, threads: 1, batchSize: 256, contextSize: 512, store: 'lmdb' } })
})
afterAll(async () => {
  await node?.stop()
  await models.cleanup()
})

describe('gpu-infer model=<sha256> from store@1.0', () => {
  it('runs a GGUF uploaded over HTTP, by its sha256', async () => {
    const expected = createHash('sha256').update(await readFile(path)).digest('hex')
    const body = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>
    const up = await node.app.request(`${URL_BASE}/~store@1.0/put`, {
      method: 'PUT', body, duplex: 'half', headers: { 'content-type': 'application/x-gguf' },
    } as RequestInit)
    expect(up.status).toBe(200)
    expect(await up.json()).toMatchObject({ kind: 'blob', sha256: expected, 'content-type': 'application/x-gguf' })

    const run = await node.app.request(`${URL_BASE}/~gpu-infer@1.0/run&model=${expected}&prompt=hello&max-tokens+integer=4`, { headers: JSON_ACCEPT })
    expect(run.status).toBe(200)
    const result = (await run.json()) as { output: string; model: { sha256: string; bytes: number } }
    expect(result.model).toMatchObject({ sha256: expected, bytes: (await readFile(path)).length })
    expect(typeof result.output).toBe('string')
    // The same request again is answered from the ledger: same result ID.
    const again = await node.app.request(`${URL_BASE}/~gpu-infer@1.0/run&model=${expected}&prompt=hello&max-tokens+integer=4`, { headers: JSON_ACCEPT })
    expect([again.headers.get('ao-id'), again.headers.get('ao-cache')]).toEqual([run.headers.get('ao-id'), 'hit'])
  })

  it('a sha256 the store does not hold is a 404', async () => {
    const unknown = createHash('sha256').update('no such model').digest('hex')
    const res = await node.app.request(`${URL_BASE}/~gpu-infer@1.0/run&model=${unknown}&prompt=hi&max-tokens+integer=2`, { headers: JSON_ACCEPT })
    expect(res.status).toBe(404)
  })

  it('a stored blob that is not a GGUF is refused, not crashed on', async () => {
    const up = await node.app.request(`${URL_BASE}/~store@1.0/put`, { method: 'PUT', body: 'not a model at all' })
    const { sha256 } = (await up.json()) as { sha256: string }
    const res = await node.app.request(`${URL_BASE}/~gpu-infer@1.0/run&model=${sha256}&prompt=hi&max-tokens+integer=2`, { headers: JSON_ACCEPT })
    expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([422, 'invalid-gguf'])
    expect(await (await node.app.request(`${URL_BASE}/~message@1.0&a=1/a`)).text()).toBe('1')
  })
})

