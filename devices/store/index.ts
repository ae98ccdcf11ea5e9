/**
 * @packageDocumentation
 * Folder: one device (its index.ts is its only door). May import: core/, identity/, this folder,
 * another device only through its index.ts, the libraries it needs; never node/ (eslint/boundaries.js).
 *
 * `store@1.0`: content-addressed storage over HTTP — blobs (models, prompts, outputs) by sha256
 * and messages by ID — on whatever backend the node runs (memory, fs, LMDB, a shared Redis).
 *
 *     put      bytes → {kind: blob, sha256, id, bytes, content-type}; a message → {kind: message, id, sha256, bytes}
 *     get      by sha256=<hex> or id=<ID>; blobs keep their content type; HTTP ranges on blobs
 *     has      true | false
 *     stat     what put answers, without the bytes
 *     list     kind=blob|message, prefix, after, limit → {kind, items, next?}
 *     delete   operator-signed (or --store-open) POST/DELETE
 *
 * Blob bytes stream (devices/store/http.ts): an 8 GiB GGUF never sits whole in memory. Every read
 * checks the sha256 (blob-read.ts): corruption is a 500 `store-corruption`, never wrong bytes.
 * See docs/devices/store.md.
 *
 * @example
 * ```sh
 * curl -T model.gguf localhost:8734/~store@1.0/put                       # {"sha256": "…", …}
 * curl -o copy.gguf localhost:8734/~store@1.0/blob/<sha256>
 * curl -H 'range: bytes=0-3' localhost:8734/~store@1.0/blob/<sha256>     # GGUF
 * curl 'localhost:8734/~gpu-infer@1.0/run&model=<sha256>&prompt=hi'
 * ```
 */
import type { Store } from '../../core/store.js'
import type { Device, Logger } from '../../core/types.js'
import { uploadTime } from './blob-write.js'
import { DEFAULT_MAX_BLOB_BYTES, STALE_UPLOAD_MS, STORE_DEVICE_NAME, UPLOAD_PREFIX } from './constants.js'
import { storeKeys } from './device.js'
import type { Hono } from 'hono'
import { mountStore } from './http.js'

export { STORE_DEVICE_NAME, DEFAULT_MAX_BLOB_BYTES } from './constants.js'
export { contentSafetyHeaders } from './http.js'
export { contentRange, planRange } from './http-range.js'
export { openStore, parseStoreSpec } from './open.js'
export { locate, parseSha256, parseTarget, SHA256_HEX } from './target.js'
export { DEFAULT_CONTENT_TYPE, openBlob, readBlob, type BlobEntry } from './blob-read.js'
export { writeBlob, type WriteOutcome } from './blob-write.js'

export interface StoreDeviceInit {
  /** The node's store: swept at start for uploads a crash left behind. */
  readonly store?: Store
  readonly log?: Logger
  /** Anyone may delete (`--store-open`). Default false. */
  readonly open?: boolean
  /** Largest blob accepted (`--max-blob-bytes`); 413 beyond. Default 8 GiB. */
  readonly maxBlobBytes?: number
}

/**
 * Removes temporary upload keys a killed node left. A node owns an fs or LMDB store, so every
 * one there is stale at start; a Redis store may be shared, so only day-old ones go.
 */
export async function sweepUploads(store: Store, now = Date.now()): Promise<number> {
  const cutoff = store.kind === 'redis' ? now - STALE_UPLOAD_MS : now
  const stale: string[] = []
  for await (const key of store.list(UPLOAD_PREFIX)) {
    const time = uploadTime(key)
    if (time === undefined || time < cutoff) stale.push(key)
  }
  if (stale.length > 0) await store.batch(stale.map((key) => ({ type: 'delete' as const, key })))
  return stale.length
}

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => SILENT }

export function storeDevice(init: StoreDeviceInit = {}): Device {
  const open = init.open ?? false
  const maxBlobBytes = init.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES
  let started: Promise<void> | undefined
  return {
    name: STORE_DEVICE_NAME,
    info: {
      description: 'Content-addressed storage: blobs by sha256 (streamed, range requests) and messages by ID.',
      'max-blob-bytes': maxBlobBytes,
      open,
    },
    deterministic: false,
    keys: storeKeys({ open, maxBlobBytes }),
    // Blob bytes stream past the generic app's whole-body limit: its own routes (http.ts).
    routes(app, http) {
      const { store } = init
      if (store === undefined) return
      mountStore(app as Hono, { http, store, log: init.log ?? SILENT, maxBlobBytes })
    },
    async start() {
      const { store } = init
      if (store === undefined) return
      started ??= sweepUploads(store).then((n) => {
        if (n > 0) init.log?.info({ swept: n }, 'store: removed temporary uploads left by an earlier run')
      })
      await started
    },
  }
}

export default storeDevice
