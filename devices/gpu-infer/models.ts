/**
 * @module
 * The model registry: which GGUF files the node serves, under which names, with which identity.
 *
 * A model's identity is the sha256 of its bytes, never its name or path: results name the exact
 * weights that produced them. Hashing a multi-GB file is slow, so digests are cached by
 * (path, size, mtime) and computed by streaming, never by reading the file whole. The cache is an
 * interface so the node can persist it (e.g. in its store) across restarts.
 *
 * Requests can only name a registered model (by name or by sha256). A path in a request is just
 * an unknown name: the node never opens a file a client chose.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { resolve as resolvePath } from 'node:path'
import { createHash } from 'node:crypto'
import { InvalidRequestError, NotFoundError } from '../../core/errors.js'
import { checkGguf } from './gguf-check.js'

/** Where sha256 digests of model files are remembered. */
export interface HashCache {
  get(path: string, size: number, mtimeMs: number): string | undefined
  set(path: string, size: number, mtimeMs: number, sha256: string): void
  /** Lookups answered from the cache, and files actually hashed. */
  stats(): { hits: number; misses: number }
}

/** An in-memory HashCache (the default, shared by every engine in the process). */
export function createHashCache(): HashCache {
  const entries = new Map<string, { size: number; mtimeMs: number; sha256: string }>()
  let hits = 0
  let misses = 0
  return {
    get(path, size, mtimeMs) {
      const e = entries.get(path)
      if (e !== undefined && e.size === size && e.mtimeMs === mtimeMs) { hits++; return e.sha256 }
      misses++
      return undefined
    },
    set(path, size, mtimeMs, sha256) { entries.set(path, { size, mtimeMs, sha256 }) },
    stats: () => ({ hits, misses }),
  }
}

export const defaultHashCache: HashCache = createHashCache()

/** Streaming sha256 of a file, hex. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256')
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => h.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')))
  })
}

/** What a model is: its name and the identity of its bytes. */
export interface ModelIdentity {
  name: string
  sha256: string
  bytes: number
}

/** A registered model. `path` stays inside the engine: it is never part of a result. */
export interface ModelRecord extends ModelIdentity {
  path: string
  mtimeMs: number
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/
const SHA256_RE = /^[0-9a-f]{64}$/

/**
 * Refuse files that are not usable GGUF before llama.cpp sees them (gguf-check.ts: node-llama-cpp
 * 3.21's own reader spins forever on some malformed headers). Reads only the metadata.
 * Errors name the model (`label`), never the path: they reach clients.
 */
export async function checkGgufFile(path: string, size: number, label: string): Promise<void> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 })
  try {
    await checkGguf(stream, size, label)
  } finally {
    stream.destroy()
  }
}

/** Stat the file and get its digest, from the cache when size and mtime are unchanged. */
export async function identify(path: string, cache: HashCache, label = 'the model'): Promise<{ sha256: string; bytes: number; mtimeMs: number }> {
  const st = await stat(path)
  if (!st.isFile()) throw new InvalidRequestError(`gpu-infer: the file of ${label} is not a regular file`, { code: 'invalid-model-path' })
  await checkGgufFile(path, st.size, label)
  const cached = cache.get(path, st.size, st.mtimeMs)
  if (cached !== undefined) return { sha256: cached, bytes: st.size, mtimeMs: st.mtimeMs }
  const sha256 = await sha256File(path)
  cache.set(path, st.size, st.mtimeMs, sha256)
  return { sha256, bytes: st.size, mtimeMs: st.mtimeMs }
}

export interface ModelRegistry {
  /** Register `path` under `name` (hashing it unless cached). Re-adding the same pair is a no-op. */
  add(name: string, path: string): Promise<ModelRecord>
  /** Find a model by name or sha256 (lower-case hex); unknown → 404 `unknown-model`. */
  resolve(ref: string): ModelRecord
  /** Re-check the file before loading; returns the (possibly new) identity. */
  refresh(name: string): Promise<ModelRecord>
  list(): ModelRecord[]
}

export function createModelRegistry(opts: { hashCache: HashCache }): ModelRegistry {
  const byName = new Map<string, ModelRecord>()

  const record = async (name: string, path: string): Promise<ModelRecord> => {
    let id
    try {
      id = await identify(path, opts.hashCache, `model ${JSON.stringify(name)}`)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // The path is the operator's business (it is logged with the cause), not a client's.
        throw new NotFoundError(`gpu-infer: the file of model ${JSON.stringify(name)} is missing`, { code: 'model-file-missing', cause: err })
      }
      throw err
    }
    return { name, path, ...id }
  }

  return {
    async add(name, path) {
      if (typeof name !== 'string' || !NAME_RE.test(name) || SHA256_RE.test(name)) {
        throw new InvalidRequestError(`gpu-infer: invalid model name ${JSON.stringify(name)} (letters, digits, . _ : -; not a sha256)`, { code: 'invalid-model-name' })
      }
      const abs = resolvePath(path)
      const existing = byName.get(name)
      if (existing !== undefined && existing.path !== abs) {
        throw new InvalidRequestError(`gpu-infer: model name ${name} is already registered for another file`, { code: 'duplicate-model' })
      }
      const rec = await record(name, abs)
      byName.set(name, rec)
      return rec
    },

    resolve(ref) {
      if (typeof ref === 'string') {
        const named = byName.get(ref)
        if (named !== undefined) return named
        const digest = ref.toLowerCase()
        if (SHA256_RE.test(digest)) for (const r of byName.values()) if (r.sha256 === digest) return r
      }
      throw new NotFoundError(`gpu-infer: unknown model ${JSON.stringify(String(ref).slice(0, 200))}`, {
        code: 'unknown-model', detail: { known: [...byName.keys()] },
      })
    },

    async refresh(name) {
      const old = byName.get(name)
      if (old === undefined) throw new NotFoundError(`gpu-infer: unknown model ${name}`, { code: 'unknown-model' })
      const rec = await record(name, old.path)
      byName.set(name, rec)
      return rec
    },

    list: () => [...byName.values()],
  }
}

/**
 * Which loaded models to unload so that `incoming` more bytes fit in `budget`: least recently
 * used first, never a busy one. Returns names; may return too few (then the load proceeds over
 * budget, with a warning: refusing would make a configured model unusable).
 */
export function pickEvictions(
  loaded: ReadonlyArray<{ name: string; bytes: number; lastUsed: number; busy: boolean }>,
  incoming: number,
  budget: number,
): string[] {
  let total = loaded.reduce((n, m) => n + m.bytes, 0) + incoming
  const out: string[] = []
  for (const m of [...loaded].sort((a, b) => a.lastUsed - b.lastUsed)) {
    if (total <= budget) break
    if (m.busy) continue
    out.push(m.name)
    total -= m.bytes
  }
  return out
}
