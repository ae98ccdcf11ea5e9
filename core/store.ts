/**
 * @module
 * The storage contract every backend (memory, filesystem, LMDB, Redis) implements.
 *
 * Keys are printable strings in three name spaces (DESIGN §10):
 * - `msg/<id>`         a message's canonical DAG-CBOR bytes, keyed by its 43-char ID;
 * - `step/<hashpath>`  a step record (see core/ledger.ts), keyed by the output hashpath;
 * - `blob/<sha256hex>` raw bytes (models, uploads), keyed by their sha256.
 *
 * Durability: when `put` or `batch` resolves, the write survives a crash of the process.
 */

/** One write in a batch. */
export type BatchOp =
  | {
    readonly type: 'put'; readonly key: string; readonly value: Uint8Array
    /**
     * Write-once: the put applies only when the key holds no value, atomically with respect to
     * every other writer of the same store (other nodes on a shared Redis included). Step
     * records are written so: two nodes that execute the same new step at once leave the first
     * record, never have the second replace it (the first is the evidence).
     */
    readonly ifAbsent?: boolean
  }
  | { readonly type: 'delete'; readonly key: string }

/** Options for listing keys. */
export interface ListOptions {
  /** Only keys strictly after this one (for pagination). */
  readonly after?: string
  /** At most this many keys. */
  readonly limit?: number
}

/** A byte range, inclusive start and exclusive end. */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

/** A key-value store of bytes. */
export interface Store {
  /** Backend name, e.g. `lmdb`, for logs and `meta@1.0/info`. */
  readonly kind: string
  get(key: string): Promise<Uint8Array | undefined>
  put(key: string, value: Uint8Array): Promise<void>
  has(key: string): Promise<boolean>
  /** Resolves true when something was deleted. */
  delete(key: string): Promise<boolean>
  /** Keys that start with `prefix`, in ascending byte order. */
  list(prefix: string, options?: ListOptions): AsyncIterable<string>
  /** Applies all writes, atomically where the backend can. */
  batch(ops: readonly BatchOp[]): Promise<void>
  /** Byte length of a value without reading it, or undefined. */
  size?(key: string): Promise<number | undefined>
  /** Streams a value (or a range of it) without holding it whole in memory. */
  getStream?(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array> | undefined>
  /** Writes a value from a stream; durable when it resolves. */
  putStream?(key: string, source: AsyncIterable<Uint8Array>): Promise<void>
  /** Flushes and releases resources. Idempotent. */
  close(): Promise<void>
}

/** Store key of a message by ID. */
export const messageKey = (id: string): string => `msg/${id}`
/** Store key of a step record by output hashpath. */
export const stepKey = (hashpath: string): string => `step/${hashpath}`
/** Store key of a blob by sha256 (hex). */
export const blobKey = (sha256hex: string): string => `blob/${sha256hex}`
