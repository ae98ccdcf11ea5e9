/**
 * @module
 * Limits and layout constants shared by the store backends (DESIGN §10).
 *
 * Every backend enforces the same key and value rules, so a store can be swapped for another
 * (memory in tests, LMDB on one machine, Redis for many) without a key suddenly failing.
 */

/** Longest key, in UTF-8 bytes. LMDB's default key limit is 1978 bytes; this leaves headroom. */
export const MAX_KEY_BYTES = 1024

/**
 * Values up to this size are stored whole under their key. Bigger ones are split into chunks
 * behind a small manifest (LMDB and Redis), so `size()` never reads more than this and
 * `getStream()` never holds more than one chunk.
 */
export const INLINE_MAX_BYTES = 1024 * 1024

/** Size of one chunk of a large value (the last chunk may be shorter). */
export const CHUNK_BYTES = 4 * 1024 * 1024

/** Keys fetched per round trip when `list` pages through a backend internally. */
export const LIST_PAGE_SIZE = 1000

/** Default namespace for Redis keys, so several applications can share one Redis. */
export const DEFAULT_REDIS_PREFIX = 'hashbeam:'

/**
 * Redis chunks written by an upload that has not committed yet expire after this long, so a
 * node killed mid-upload leaves no garbage behind. An upload slower than this fails cleanly.
 */
export const PENDING_CHUNK_TTL_MS = 24 * 60 * 60 * 1000

/** Stale temporary files of the filesystem backend older than this are removed on open. */
export const FS_STALE_TEMP_MS = 60 * 60 * 1000

/** The filesystem backend splits a longer encoded key name into directories of this length. */
export const FS_NAME_SEGMENT = 200

/** The spec strings `openStore` understands besides `redis://…` URLs. */
export const STORE_KINDS = ['memory', 'fs', 'lmdb', 'redis'] as const
export type StoreKind = (typeof STORE_KINDS)[number]
