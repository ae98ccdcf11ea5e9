// The software measurement: what it hashes, that the code part is reproducible with coreutils,
// that any change moves it, and what `hashbeam measure` prints.
import { execSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { combineParts, describeLlamaCpp, measure, measureCommand, measureCommandOutput } from '../../../devices/attest/measurement.js'
import { tempDir } from '../../helpers/node.js'

const cleanups: Array<() => void> = []
afterEach(() => cleanups.splice(0).forEach((c) => c()))

function tree(files: Record<string, string>): string {
  const { dir, cleanup } = tempDir('hashbeam-measure-')
  cleanups.push(cleanup)
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    writeFileSync(join(dir, rel), text)
  }
  return dir
}

const built = {
  'package.json': '{"name":"x"}', 'package-lock.json': '{"lockfileVersion":3}',
  'dist/core/a.js': 'a', 'dist/core/b.js': 'b', 'dist/node/cli.js': 'cli', 'bin/hashbeam.js': 'bin',
  'core/a.ts': 'ignored when dist exists', 'test/x.test.ts': 'never measured',
}
const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex')
const hasCoreutils = (() => {
  try {
    execSync('sha256sum --version && find --version', { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

describe('measure', () => {
  it('hashes dist/, bin/ and package.json when dist exists, with the four parts in order', async () => {
    const m = await measure({ root: tree(built), nodeVersion: 'v20.0.0', llamaCpp: { backend: 'cpu', llamaCppBuild: 'b1', cpuVariant: 'zen4' } })
    expect(m.source).toBe('dist')
    expect(m.parts.map((p) => p.name)).toEqual(['code', 'package-lock.json', 'node', 'llama-cpp'])
    const manifest = ['bin/hashbeam.js', 'dist/core/a.js', 'dist/core/b.js', 'dist/node/cli.js', 'package.json']
      .map((f) => `${sha((built as Record<string, string>)[f]!)}  ${f}\n`).join('')
    expect(m.parts[0]).toMatchObject({ sha256: sha(manifest), detail: expect.stringContaining('(5 files)') })
    expect(m.parts[1]!.sha256).toBe(sha(built['package-lock.json']))
    expect(m.parts[2]).toEqual({ name: 'node', sha256: sha('v20.0.0'), detail: 'v20.0.0' })
    expect(m.parts[3]!.detail).toBe('backend=cpu build=b1 cpu-variant=zen4')
    expect(m.measurement).toBe(sha(m.parts.map((p) => `${p.sha256}  ${p.name}\n`).join('')))
    expect(combineParts(m.parts)).toBe(m.measurement)
  })

  it.skipIf(!hasCoreutils)('the code part equals the documented find | sort | sha256sum pipeline', async () => {
    const root = tree(built)
    const m = await measure({ root })
    const shell = execSync('find dist bin package.json -type f | LC_ALL=C sort | xargs sha256sum | sha256sum', { cwd: root }).toString().split(' ')[0]
    expect(m.parts[0]!.sha256).toBe(shell)
  })

  it('hashes the source tree when dist is absent, and says so', async () => {
    const { 'dist/core/a.js': _a, 'dist/core/b.js': _b, 'dist/node/cli.js': _c, ...source } = built
    const m = await measure({ root: tree({ ...source, 'devices/x/index.ts': 'x', 'node/app.ts': 'app' }) })
    expect(m.source).toBe('source')
    expect(m.parts[0]!.detail).toMatch(/^source tree: .*\(5 files\)$/)
  })

  it('any changed byte, added file, lockfile, runtime or llama variant changes the measurement', async () => {
    const base = await measure({ root: tree(built), nodeVersion: 'v20.0.0' })
    const variants = await Promise.all([
      measure({ root: tree({ ...built, 'dist/core/a.js': 'A' }), nodeVersion: 'v20.0.0' }),
      measure({ root: tree({ ...built, 'dist/extra.js': '' }), nodeVersion: 'v20.0.0' }),
      measure({ root: tree({ ...built, 'package-lock.json': '{}' }), nodeVersion: 'v20.0.0' }),
      measure({ root: tree(built), nodeVersion: 'v22.0.0' }),
      measure({ root: tree(built), nodeVersion: 'v20.0.0', llamaCpp: { backend: 'cuda' } }),
    ])
    const all = new Set([base, ...variants].map((m) => m.measurement))
    expect(all.size).toBe(6)
    // Files outside the measured set do not count.
    const outside = await measure({ root: tree({ ...built, 'test/x.test.ts': 'changed', 'core/a.ts': 'changed' }), nodeVersion: 'v20.0.0' })
    expect(outside.measurement).toBe(base.measurement)
  })

  it('skips symbolic links (as find -type f does) and reports an absent lockfile', async () => {
    const { 'package-lock.json': _lock, ...rest } = built
    const root = tree(rest)
    const before = await measure({ root })
    symlinkSync(join(root, 'dist/core/a.js'), join(root, 'dist/link.js'))
    const after = await measure({ root })
    expect(after.parts[0]!.sha256).toBe(before.parts[0]!.sha256)
    expect(after.parts[1]).toMatchObject({ sha256: sha(''), detail: expect.stringMatching(/^absent/) })
  })

  it('refuses a directory that is not an installation', async () => {
    const root = tree({ 'readme.txt': 'x' })
    await expect(measure({ root })).rejects.toMatchObject({ status: 500, code: 'measure-failed' })
    await expect(measure({ root: join(root, 'missing') })).rejects.toMatchObject({ code: 'measure-failed' })
  })

  it('describes the llama.cpp variant with sorted fields, or none', () => {
    expect(describeLlamaCpp(undefined)).toBe('none')
    expect(describeLlamaCpp('')).toBe('none')
    expect(describeLlamaCpp({})).toBe('none')
    expect(describeLlamaCpp({ cpuVariant: null, backend: 'cuda', nodeLlamaCpp: '3.21.1', binary: 'prebuilt' }))
      .toBe('backend=cuda binary=prebuilt node-llama-cpp=3.21.1')
    expect(describeLlamaCpp('custom build 42')).toBe('custom build 42')
  })

  it('measure command output: the measurement, then one aligned line per part; or JSON', async () => {
    const root = tree(built)
    const m = await measure({ root, nodeVersion: 'v20.1.0' })
    const text = measureCommandOutput(m)
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toBe(`measurement  ${m.measurement}`)
    expect(lines.slice(1).map((l) => l.trim().split(/\s+/)[0])).toEqual(['code', 'package-lock.json', 'node', 'llama-cpp'])
    expect(lines[3]).toContain(`${sha('v20.1.0')}  v20.1.0`)
    const json = JSON.parse(await measureCommand({ root, nodeVersion: 'v20.1.0', json: true }))
    expect(json).toEqual({ measurement: m.measurement, source: 'dist', parts: m.parts })
  })

  it('measures this repository', async () => {
    const m = await measure({ root: process.cwd() })
    expect(m.measurement).toMatch(/^[0-9a-f]{64}$/)
    expect(m.parts[2]!.detail).toBe(process.version)
  })
})
