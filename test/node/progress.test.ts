// CLI progress: a bar redrawn in place on a terminal, plain lines elsewhere; and the real
// commands (model gen, export, import, verify, replay) reporting it on stderr when piped.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { megabytes, progress } from '../../node/progress.js'
import { sharedWalletPath, testNode, tempDir } from '../helpers/node.js'
import { BIN, requireBuild } from '../helpers/process.js'

const run = promisify(execFile)

function recorder(isTTY: boolean) {
  const writes: string[] = []
  let t = 0
  return { out: { isTTY, write: (s: string) => writes.push(s) }, writes, tick: (ms: number) => { t += ms }, now: () => t }
}

describe('progress', () => {
  it('on a terminal: one line redrawn (a bar with a percentage), throttled, then a summary line', () => {
    const r = recorder(true)
    const bar = progress('import', { out: r.out, now: r.now, format: megabytes })
    for (let i = 1; i <= 100; i++) {
      r.tick(20)
      bar.update(i * 1e6, 100e6)
    }
    bar.finish()
    expect(r.writes.length).toBeGreaterThan(5)
    expect(r.writes.length).toBeLessThan(30) // 2 s of updates at most ten draws a second
    expect(r.writes.slice(0, -1).every((w) => w.startsWith('\r') && !w.includes('\n'))).toBe(true)
    const half = r.writes.find((w) => / 5\d% /.test(w))!
    expect(half).toMatch(/^\rimport \[#{14,15}\.{13,14}\]  5\d% 5\d\.0 MB\/100\.0 MB\x1b\[K$/)
    expect(r.writes.at(-1)).toMatch(/^\rimport: 100\.0 MB of 100\.0 MB in 2\.0 s\x1b\[K\n$/)
  })

  it('elsewhere: plain lines per tenth of a known total, every few seconds for an unknown one', () => {
    const r = recorder(false)
    const bar = progress('export', { out: r.out, now: r.now })
    for (let i = 1; i <= 1000; i++) bar.update(i, 1000)
    bar.finish('ok')
    expect(r.writes.every((w) => !w.includes('\r') && w.endsWith('\n'))).toBe(true)
    expect(r.writes).toHaveLength(10) // 10%…90%, then the summary
    expect(r.writes.at(-1)).toBe('export: 1,000 of 1,000 in 0.0 s, ok\n')

    const u = recorder(false)
    const counter = progress('verify', { out: u.out, now: u.now, everyMs: 1000 })
    for (let i = 1; i <= 50; i++) {
      u.tick(100)
      counter.update(i)
    }
    counter.finish()
    expect(u.writes.slice(0, -1)).toEqual(['verify: 11\n', 'verify: 21\n', 'verify: 31\n', 'verify: 41\n'])
    expect(u.writes.at(-1)).toBe('verify: 50 in 5.0 s\n')
  })
})

describe('CLI commands report progress on stderr (not a terminal: plain lines)', () => {
  const data = tempDir('hashbeam-progress-')
  let hashpath = ''
  beforeAll(async () => {
    requireBuild()
    const node = await testNode({ config: { store: 'lmdb', dataDir: data.dir } })
    hashpath = (await node.app.request('/~message@1.0&a=1/set&b=2/set&c=3/c')).headers.get('hashpath')!
    await node.stop()
  })
  afterAll(() => data.cleanup())
  const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { env: { ...process.env, HASHBEAM_LOG_LEVEL: 'silent' } })

  it('model gen, export, import, verify and replay', async () => {
    const model = await cli('model', 'gen', '--size', 'tiny', '--out', join(data.dir, 'tiny.gguf'))
    expect(model.stderr).toMatch(/^model gen tiny: [\d.]+ MB in [\d.]+ s\n$/m)
    const car = join(data.dir, 'chain.car')
    // The node that wrote the records (the suite's wallet) is the one that exports and replays them.
    const exported = await cli('export', hashpath, '--out', car, '--data', data.dir, '--wallet', sharedWalletPath(), '--no-demo-model')
    expect(exported.stderr).toMatch(/^export: [\d,]+ step records read in [\d.]+ s\n/m)
    const other = join(data.dir, 'other')
    const imported = await cli('import', car, '--data', other)
    expect(imported.stderr).toMatch(/^import: [\d.]+ MB of [\d.]+ MB in [\d.]+ s\n/m)
    const verified = await cli('verify', hashpath, '--data', other)
    expect(verified.stderr).toMatch(/^verify: 3 step records read in [\d.]+ s, valid\n/m)
    const replayed = await cli('replay', hashpath, '--data', data.dir, '--wallet', sharedWalletPath(), '--no-demo-model')
    expect(replayed.stderr).toMatch(/^replay: [\d,]+ step records read in [\d.]+ s\n/m)
    expect(JSON.parse(replayed.stdout)).toMatchObject({ divergent: 0 })
  })
})
