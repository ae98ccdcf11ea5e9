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

// ---- store@1.0, the storage device (devices/store/device.ts) ----

/** The device's registered name. */
export const STORE_DEVICE_NAME = 'store@1.0'

/** Default largest blob a node accepts (`--max-blob-bytes`); 413 beyond. */
export const DEFAULT_MAX_BLOB_BYTES = 8 * 1024 ** 3

/**
 * Blobs are hashed in pieces of this size as well as whole: the piece hashes, kept in the
 * blob's metadata record, let a read check every piece before it is sent, and let a range read
 * check only the pieces it touches (not the whole multi-GB file).
 */
export const PIECE_BYTES = 1024 * 1024

/**
 * An upload whose body ends within this many bytes is hashed in memory and written in one
 * atomic batch; a longer one is streamed to a temporary key first (its sha256 is not known
 * until its last byte), unless the client declared the sha256 up front.
 */
export const UPLOAD_BUFFER_BYTES = 8 * 1024 * 1024

/**
 * A blob without a metadata record (written by another tool) is read whole and checked before
 * a byte is sent when it is at most this big; a bigger one is checked while it streams.
 */
export const UNINDEXED_VERIFY_BYTES = 16 * 1024 * 1024

/** The largest blob `get` returns as a value through the resolver (the HTTP route streams any). */
export const RESOLVER_BLOB_MAX_BYTES = 16 * 1024 * 1024

/** Temporary upload keys older than this are swept at start on a shared (Redis) store. */
export const STALE_UPLOAD_MS = 24 * 60 * 60 * 1000

/** `list` page size: default and maximum. */
export const LIST_DEFAULT_LIMIT = 100
export const LIST_MAX_LIMIT = 1000

/** Key prefixes of the device's own records, next to `blob/`, `msg/` and `step/` (core/store.ts). */
export const BLOB_META_PREFIX = 'blob-meta/'
export const UPLOAD_PREFIX = 'upload/'
