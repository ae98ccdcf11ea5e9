// Moving a computation between nodes: node A (its own process and data dir) answers requests,
// `hashbeam export` writes the chain as a CAR; node B (another data dir, another process)
// `hashbeam import`s it and `hashbeam replay`s it offline to the same result IDs.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { modelDir, type ModelDir } from '../devices/gpu-infer/fixtures.js'
import { sharedWalletPath, tempDir } from '../helpers/node.js'
import { runCli, startServer, type ServerProcess } from '../helpers/process.js'

let models: ModelDir
let model = ''
const a = tempDir()
const b = tempDir()
let server: ServerProcess
const flags = () => ['--wallet', sharedWalletPath(), '--model', `tiny=${model}`, '--threads', '1', '--context-size', '512']

beforeAll(async () => {
  models = await modelDir()
  model = await models.make('tiny', { size: 'tiny', seed: 9 })
  server = await startServer(['--data', a.dir, ...flags()])
})
afterAll(async () => {
  await server.stop()
  a.cleanup()
  b.cleanup()
  await models.cleanup()
})

describe('export on node A, import and replay on node B', () => {
  it('replays an inference chain and a message chain to the same result IDs', async () => {
    const paths = [
      '/~gpu-infer@1.0/run&model=tiny&prompt=portable&max-tokens+integer=8',
      '/~message@1.0&a=1/set&b+integer=2/set&c=3/keys',
    ]
    for (const path of paths) {
      const res = await fetch(server.url + path, { headers: { accept: 'application/json' } })
      expect(res.status).toBe(200)
      const hashpath = res.headers.get('hashpath') ?? ''
      const car = join(b.dir, 'chain.car')
      expect((await runCli(['export', hashpath, '--out', car, '--data', a.dir, ...flags()])).code).toBe(0)
      const imported = await runCli(['import', car, '--data', b.dir])
      expect(imported.code).toBe(0)
      expect(JSON.parse(imported.stdout)).toMatchObject({ hashpath, verify: { valid: true } })
      const replayed = await runCli(['replay', hashpath, '--data', b.dir, ...flags()])
      expect(replayed.code).toBe(0)
      const report = JSON.parse(replayed.stdout) as { steps: number; verified: number; divergent: number }
      expect(report.divergent).toBe(0)
      expect(report.verified).toBe(report.steps)
    }
  })
})
