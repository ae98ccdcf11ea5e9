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
import { open, stat } from 'node:fs/promises'
import { resolve as resolvePath } from 'node:path'
import { createHash } from 'node:crypto'
import { InvalidRequestError, NotFoundError, UnprocessableError } from '../../core/errors.js'

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
 * Refuse files that are not plausibly GGUF before llama.cpp sees them. node-llama-cpp 3.21's
 * own header reader spins forever (100% CPU, never settles) on a file that starts with `GGUF`
 * but has a garbage version, so this check is what keeps a bad file from wedging the node.
 */
export async function checkGgufHeader(path: string, size: number): Promise<void> {
  const bad = (why: string) => new UnprocessableError(`gpu-infer: ${path} is not a usable GGUF file: ${why}`, { code: 'invalid-gguf' })
  if (size < 24) throw bad('too small')
  const fh = await open(path, 'r')
  try {
    const head = new Uint8Array(24)
    await fh.read(head, 0, 24, 0)
    const view = new DataView(head.buffer)
    if (view.getUint32(0, true) !== 0x46554747) throw bad('no GGUF magic')
    const version = view.getUint32(4, true)
    if (version !== 2 && version !== 3) throw bad(`unsupported version ${version}`)
    // Each tensor info and key/value takes well over 8 bytes: counts beyond size/8 are garbage.
    const tensors = view.getBigUint64(8, true)
    const kvs = view.getBigUint64(16, true)
    if (tensors > BigInt(size) / 8n || kvs > BigInt(size) / 8n) throw bad('implausible tensor or key counts')
  } finally {
    await fh.close()
  }
}

/** Stat the file and get its digest, from the cache when size and mtime are unchanged. */
export async function identify(path: string, cache: HashCache): Promise<{ sha256: string; bytes: number; mtimeMs: number }> {
  const st = await stat(path)
  if (!st.isFile()) throw new InvalidRequestError(`gpu-infer: model path is not a file: ${path}`, { code: 'invalid-model-path' })
  await checkGgufHeader(path, st.size)
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
      id = await identify(path, opts.hashCache)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`gpu-infer: model file not found: ${path}`, { code: 'model-file-missing', cause: err })
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
