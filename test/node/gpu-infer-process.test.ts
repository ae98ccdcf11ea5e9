// Determinism across processes: two separate node processes, each with its own data dir, answer
// the same inference request with the same output, ao-id and hashpath; `hashbeam verify`
// passes on the inference hashpath.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { modelDir, type ModelDir } from '../devices/gpu-infer/fixtures.js'
import { sharedWalletPath, tempDir } from '../helpers/node.js'
import { runCli, startServer, type ServerProcess } from '../helpers/process.js'

let models: ModelDir
let path = ''
const dirs = [tempDir(), tempDir()]
const servers: ServerProcess[] = []

beforeAll(async () => {
  models = await modelDir()
  path = await models.make('tiny', { size: 'tiny', seed: 11, chatTemplate: true })
  for (const d of dirs) {
    servers.push(await startServer(['--data', d.dir, '--wallet', sharedWalletPath(), '--model', `tiny=${path}`, '--threads', '1', '--context-size', '512']))
  }
})
afterAll(async () => {
  for (const s of servers) await s.stop()
  for (const d of dirs) d.cleanup()
  await models.cleanup()
})

describe('gpu-infer across processes', () => {
  it('two processes give the same output, ao-id and hashpath (greedy and seeded sampling)', async () => {
    for (const query of ['prompt=the%20same&max-tokens+integer=16', 'prompt=sampled&temperature+float=0.7&max-tokens+integer=16']) {
      const answers = await Promise.all(servers.map(async (s) => {
        const res = await fetch(`${s.url}/~gpu-infer@1.0/run&model=tiny&${query}`, { headers: { accept: 'application/json' } })
        expect(res.status).toBe(200)
        return { output: ((await res.json()) as { output: string }).output, id: res.headers.get('ao-id'), hashpath: res.headers.get('hashpath') }
      }))
      expect(answers[1]).toEqual(answers[0])
    }
  })
  it('hashbeam verify passes on an inference hashpath', async () => {
    const res = await fetch(`${servers[0]?.url}/~gpu-infer@1.0/run&model=tiny&prompt=verify%20me&max-tokens+integer=8`, { headers: { accept: 'application/json' } })
    const hashpath = res.headers.get('hashpath') ?? ''
    const verified = await runCli(['verify', hashpath, '--data', dirs[0]?.dir ?? ''])
    expect(verified.code).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true, steps: 1 })
  })
})
