/**
 * @module
 * Models by hash: a GGUF put into the node's store (`store@1.0/put`, kept under
 * `blob/<sha256>`) is usable as `model=<sha256>`. Only content the store already holds can be
 * named: a request still cannot make the node open a path of its choosing. Any client can put a
 * blob, so its first use is careful:
 * 1. the blob's GGUF structure is checked in the store, before anything is copied
 *    (gguf-check.ts; reading only the metadata, each piece checked against its hash);
 * 2. it is copied once into the node's model cache directory (checked again on the way, never
 *    held whole in memory) under a unique temporary name, then renamed: concurrent first uses
 *    share that one copy;
 * 3. it is registered and loaded; if llama.cpp cannot load it, the copy is removed.
 * A blob refused at 1 or 3 is a 422 `invalid-gguf` naming its sha256 (never a path), remembered
 * (the last 1024, until the node restarts) so a refused blob costs nothing the next time.
 */
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { CorruptionError, isAoError, UnprocessableError, type AoError } from '../../core/errors.js'
import { createLru } from '../../core/lru.js'
import type { Store } from '../../core/store.js'
import { openBlob, readBlob, type BlobEntry } from '../store/index.js'
import type { Engine } from './engine.js'
import { checkGguf } from './gguf-check.js'

const SHA256_HEX = /^[0-9a-f]{64}$/
/** Blobs refused as models that are remembered (refused again without a second look). */
const REMEMBERED_REFUSALS = 1024
/** Temporary copies left by a node that died mid-copy are removed after this long. */
const STALE_COPY_MS = 60 * 60_000

export interface StoredModelSource {
  readonly store: Store
  /** Where blobs are materialized as files for llama.cpp (inside the node's data dir). */
  readonly cacheDir: string
}

export interface StoredModels {
  /** Returns `ref` unchanged, after making a stored model it names usable (first use only). */
  resolve(ref: string): Promise<string>
}

export function createStoredModels(engine: Engine, source: StoredModelSource): StoredModels {
  const firstUses = new Map<string, Promise<void>>()
  // Bounded: each refusal costs its sender an upload, but nothing should grow without limit.
  const refused = createLru<string, AoError>(REMEMBERED_REFUSALS)
  let swept = false

  const prepare = async (sha256: string): Promise<void> => {
    const entry = await openBlob(source.store, sha256)
    if (entry === undefined) return // the engine's own 404 names it
    const label = `stored model ${sha256}`
    await checkGguf(readBlob(source.store, entry), entry.bytes, label)
    await mkdir(source.cacheDir, { recursive: true })
    if (!swept) {
      swept = true
      await sweepStaleCopies(source.cacheDir)
    }
    const path = join(source.cacheDir, `${sha256}.gguf`)
    if (!(await stat(path).then((s) => s.isFile() && s.size === entry.bytes, () => false))) await copyOut(source.store, entry, path)
    const name = `sha256-${sha256.slice(0, 16)}`
    try {
      const info = await engine.addModel(name, path)
      // Only a copy changed behind the node's back can differ; removed, it is copied again next time.
      if (info.sha256 !== sha256) throw new CorruptionError(`gpu-infer: the cached copy of ${label} does not hash to its name`)
      await engine.preload(name)
    } catch (err) {
      await rm(path, { force: true })
      if (isAoError(err) && err.code === 'model-load-failed') {
        throw new UnprocessableError(`gpu-infer: ${label} is not a usable GGUF file: llama.cpp could not load it`, { code: 'invalid-gguf', cause: err })
      }
      throw err
    }
  }

  return {
    async resolve(ref) {
      if (!SHA256_HEX.test(ref)) return ref
      const refusal = refused.get(ref)
      if (refusal !== undefined) throw refusal
      let first = firstUses.get(ref)
      if (first === undefined) {
        if (isRegistered(engine, ref)) return ref // configured under a name, or prepared before
        first = prepare(ref)
        firstUses.set(ref, first)
        first.then(
          () => firstUses.delete(ref),
          (err: unknown) => {
            firstUses.delete(ref)
            if (isAoError(err) && err.code === 'invalid-gguf') refused.set(ref, err)
          },
        )
      }
      await first
      return ref
    },
  }
}

function isRegistered(engine: Engine, sha256: string): boolean {
  try {
    engine.resolveModel(sha256)
    return true
  } catch (err) {
    if (isAoError(err) && err.status === 404) return false
    throw err
  }
}

/**
 * Streams the blob's checked bytes to `path` through a temporary file of its own. Hand-written,
 * not write-file-atomic: a model (GBs) is streamed and checked on the way, and only a complete
 * copy is renamed into place.
 */
async function copyOut(store: Store, entry: BlobEntry, path: string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const out = createWriteStream(temp)
  try {
    for await (const chunk of readBlob(store, entry)) {
      if (!out.write(chunk)) await new Promise<void>((done) => out.once('drain', () => done()))
    }
    out.end()
    await finished(out)
    await rename(temp, path)
  } catch (err) {
    out.destroy()
    await rm(temp, { force: true })
    throw err
  }
}

async function sweepStaleCopies(dir: string): Promise<void> {
  const now = Date.now()
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.tmp')) continue
    const file = join(dir, name)
    const st = await stat(file).catch(() => undefined)
    if (st !== undefined && now - st.mtimeMs > STALE_COPY_MS) await rm(file, { force: true })
  }
}
