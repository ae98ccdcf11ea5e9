/**
 * @module
 * Models by hash: a GGUF put into the node's store (`store@1.0/put`, kept under
 * `blob/<sha256>`) is usable as `model=<sha256>`. On first use the blob is streamed into the
 * node's model cache directory — checked against its sha256 on the way, never held whole in
 * memory — and registered with the engine. Only content the store already holds can be named:
 * a request still cannot make the node open a path of its choosing.
 */
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { CorruptionError, isAoError } from '../../core/errors.js'
import { blobKey, type Store } from '../../core/store.js'
import type { Engine } from './engine.js'

const SHA256_HEX = /^[0-9a-f]{64}$/

export interface StoredModelSource {
  readonly store: Store
  /** Where blobs are materialized as files for llama.cpp (inside the node's data dir). */
  readonly cacheDir: string
}

/** Returns `ref` unchanged, after registering a stored model it names when needed. */
export async function resolveStoredModel(engine: Engine, source: StoredModelSource, ref: string): Promise<string> {
  if (!SHA256_HEX.test(ref)) return ref
  try {
    engine.resolveModel(ref)
    return ref
  } catch (err) {
    if (!isAoError(err) || err.status !== 404) throw err
  }
  if (!(await source.store.has(blobKey(ref)))) return ref // the engine's own 404 names it
  const path = join(source.cacheDir, `${ref}.gguf`)
  const present = await stat(path).then((s) => s.isFile(), () => false)
  if (!present) await materialize(source, ref, path)
  await engine.addModel(`sha256-${ref.slice(0, 16)}`, path)
  return ref
}

// Hand-written, not write-file-atomic: a model (GBs) is streamed and hashed on the way, and only a
// file that matches its address is renamed into place.
async function materialize(source: StoredModelSource, sha256: string, path: string): Promise<void> {
  await mkdir(source.cacheDir, { recursive: true })
  const temp = `${path}.${process.pid}.tmp`
  const hash = createHash('sha256')
  const out = createWriteStream(temp)
  try {
    const stream = source.store.getStream === undefined ? undefined : await source.store.getStream(blobKey(sha256))
    const chunks = stream ?? [await source.store.get(blobKey(sha256)) ?? new Uint8Array(0)]
    for await (const chunk of chunks) {
      hash.update(chunk)
      if (!out.write(chunk)) await new Promise<void>((done) => out.once('drain', () => done()))
    }
    out.end()
    await finished(out)
    if (hash.digest('hex') !== sha256) throw new CorruptionError(`gpu-infer: stored model ${sha256} does not hash to its address`)
    await rename(temp, path)
  } catch (err) {
    out.destroy()
    await rm(temp, { force: true })
    throw err
  }
}
