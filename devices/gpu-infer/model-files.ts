/**
 * @module
 * Which models the node serves: `--model name=path` (repeatable), every `*.gguf` in
 * `--models-dir` (named after the file), and — when nothing is configured — a tiny demo model
 * that our own generator writes into the data dir, so `npm start` answers inference requests on a
 * fresh machine with no download. Its output is gibberish by design (random weights).
 *
 * Model digests are cached in `<data>/model-hashes.json` by (path, size, mtime), so a multi-GB
 * file is hashed once, not at every start.
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readdir } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import { ConfigError } from '../../core/errors.js'
import { generateGguf } from './gguf.js'
import { createHashCache, type HashCache } from './models.js'

export const DEMO_MODEL_NAME = 'demo'

/** Parses `name=path` pairs from the command line. */
export function parseModelFlags(values: readonly string[]): Record<string, string> {
  const models: Record<string, string> = {}
  for (const value of values) {
    const eq = value.indexOf('=')
    if (eq <= 0 || eq === value.length - 1) throw new ConfigError(`config: --model takes name=path, got "${value}"`)
    models[value.slice(0, eq)] = resolve(value.slice(eq + 1))
  }
  return models
}

/** `*.gguf` files of a directory, named after the file without the extension. */
export async function scanModelsDir(dir: string | undefined): Promise<Record<string, string>> {
  if (dir === undefined) return {}
  const models: Record<string, string> = {}
  for (const file of (await readdir(dir)).sort()) {
    if (file.endsWith('.gguf')) models[basename(file, '.gguf')] = resolve(dir, file)
  }
  return models
}

/** Writes the demo model once (byte-identical every time: seeded generator); returns its path. */
export async function ensureDemoModel(dataDir: string): Promise<string> {
  // Q8_0: the smallest realistic weight format, and batch-invariant (docs/devices/gpu-infer.md),
  // so the demo can be served with --parallel batched (the tests measure this very model).
  const path = join(dataDir, 'models', 'demo-tiny-q8_0.gguf')
  if (!existsSync(path)) {
    await mkdir(join(dataDir, 'models'), { recursive: true })
    const gguf = generateGguf({ size: 'tiny', seed: 1, chatTemplate: true, name: 'hashbeam-demo-tiny', quant: 'q8_0' }) // ~0.4 MB
    // Temp file, fsync, rename: a crash never leaves a half-written model that existsSync accepts.
    await writeFileAtomic(path, Buffer.from(gguf.buffer, gguf.byteOffset, gguf.byteLength))
  }
  return path
}

/** A HashCache persisted as JSON in the data dir (written atomically after each new digest). */
export function fileHashCache(file: string): HashCache {
  const memory = createHashCache()
  const entries: Record<string, { size: number; mtimeMs: number; sha256: string }> = {}
  try {
    Object.assign(entries, JSON.parse(readFileSync(file, 'utf8')))
    for (const [path, e] of Object.entries(entries)) memory.set(path, e.size, e.mtimeMs, e.sha256)
  } catch {
    // No cache yet, or an unreadable one: digests are recomputed, which is always safe.
  }
  return {
    get: (path, size, mtimeMs) => memory.get(path, size, mtimeMs),
    set(path, size, mtimeMs, sha256) {
      memory.set(path, size, mtimeMs, sha256)
      entries[path] = { size, mtimeMs, sha256 }
      // write-file-atomic queues writes to one file in call order, so the last snapshot wins; a
      // failed write only costs a re-hash at the next start.
      writeFileAtomic(file, JSON.stringify(entries)).catch(() => undefined)
    },
    stats: () => memory.stats(),
  }
}
