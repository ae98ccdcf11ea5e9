/**
 * @module
 * Is this a GGUF file llama.cpp can safely be given? A structural check of everything before the
 * tensor data — header, every metadata key/value, every tensor info — against the file's size,
 * read as a stream (the metadata of a real model is megabytes; the weights are never read).
 *
 * Why not leave it to llama.cpp: node-llama-cpp reads a file's metadata itself before loading,
 * and its reader spins forever (100 % CPU, never settles) on some malformed headers; a model
 * from the store is a file any client chose. So a file reaches node-llama-cpp only when every
 * length and count fits in the file, types are known, tensor shapes are sane and the tensor data
 * is laid out as llama.cpp's own loader requires (consecutive, aligned, inside the file).
 * Anything else is a 422 `invalid-gguf` that names the model, never a path.
 */
import { UnprocessableError } from '../../core/errors.js'

const MAGIC = 0x46554747 // "GGUF" as a little-endian u32
/** Far above any real model (a few hundred keys, a few thousand tensors), far below harm. */
const MAX_ENTRIES = 1 << 20
const MAX_KEY_BYTES = 65_535
const MAX_DIMS = 4
const DEFAULT_ALIGNMENT = 32
/** Reading a real model's metadata takes well under a second. */
const CHECK_BUDGET_MS = 15_000

/** Fixed-size metadata value types (GGUF value type → bytes); 8 = string, 9 = array. */
const SCALAR_BYTES: Readonly<Record<number, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 }
const STRING = 8
const ARRAY = 9

/**
 * ggml tensor types llama.cpp knows: [elements per block, bytes per block]. Ids missing here
 * were removed from ggml (or are beyond it) and are refused.
 */
const TENSOR_TYPES: Readonly<Record<number, readonly [number, number]>> = {
  0: [1, 4], 1: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 9: [32, 36],
  10: [256, 84], 11: [256, 110], 12: [256, 144], 13: [256, 176], 14: [256, 210], 15: [256, 292],
  16: [256, 66], 17: [256, 74], 18: [256, 98], 19: [256, 50], 20: [32, 18], 21: [256, 110], 22: [256, 82],
  23: [256, 136], 24: [1, 1], 25: [1, 2], 26: [1, 4], 27: [1, 8], 28: [1, 8], 29: [256, 56], 30: [1, 2],
  34: [256, 54], 35: [256, 66], 39: [32, 17],
}

/** What the check learnt about a file. */
export interface GgufLayout {
  readonly version: number
  readonly tensors: number
  readonly keys: number
  /** Where the tensor data starts, and its size (both in bytes). */
  readonly dataOffset: number
  readonly dataBytes: number
}

class Bad extends Error {}

/** A forward-only reader over chunks that can skip bytes without holding them. */
class Cursor {
  #buffer: Uint8Array = new Uint8Array(0)
  #at = 0
  /** Bytes of the file consumed so far. */
  offset = 0
  readonly #source: AsyncIterator<Uint8Array> | Iterator<Uint8Array>
  readonly #size: number
  constructor(source: AsyncIterator<Uint8Array> | Iterator<Uint8Array>, size: number) {
    this.#source = source
    this.#size = size
  }
  async #fill(n: number): Promise<void> {
    if (this.offset + n > this.#size) throw new Bad(`ends early (needs byte ${this.offset + n} of ${this.#size})`)
    while (this.#buffer.length - this.#at < n) {
      const next = await this.#source.next()
      if (next.done === true) throw new Bad('ends before its stated size')
      const rest = this.#buffer.subarray(this.#at)
      const merged = new Uint8Array(rest.length + next.value.length)
      merged.set(rest)
      merged.set(next.value, rest.length)
      this.#buffer = merged
      this.#at = 0
    }
  }
  async bytes(n: number): Promise<Uint8Array> {
    await this.#fill(n)
    const out = this.#buffer.subarray(this.#at, this.#at + n)
    this.#at += n
    this.offset += n
    return out
  }
  async u32(): Promise<number> {
    const b = await this.bytes(4)
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0
  }
  async u64(): Promise<number> {
    const lo = await this.u32()
    const hi = await this.u32()
    if (hi >= 1 << 21) return Number.MAX_SAFE_INTEGER // beyond 2^53: more than any file holds
    return hi * 2 ** 32 + lo
  }
  async skip(n: number): Promise<void> {
    if (this.offset + n > this.#size) throw new Bad(`ends early (needs byte ${this.offset + n} of ${this.#size})`)
    let left = n
    while (left > 0) {
      const have = this.#buffer.length - this.#at
      if (have === 0) {
        const next = await this.#source.next()
        if (next.done === true) throw new Bad('ends before its stated size')
        this.#buffer = next.value
        this.#at = 0
        continue
      }
      const take = Math.min(have, left)
      this.#at += take
      left -= take
    }
    this.offset += n
  }
  remaining(): number {
    return this.#size - this.offset
  }
  /**
   * Called once per entry: yields to the event loop every few thousand entries (awaiting bytes
   * already buffered never does, and a hostile file can hold millions of tiny entries), and
   * gives up past the time budget.
   */
  async tick(): Promise<void> {
    if (++this.#ticks % 2048 !== 0) return
    await new Promise((done) => setImmediate(done))
    if (performance.now() > this.#deadline) throw new Bad(`its metadata takes more than ${CHECK_BUDGET_MS / 1000} s to read`)
  }
  #ticks = 0
  readonly #deadline = performance.now() + CHECK_BUDGET_MS
}

async function readString(c: Cursor, max = Number.MAX_SAFE_INTEGER): Promise<Uint8Array | number> {
  const length = await c.u64()
  if (length > c.remaining()) throw new Bad(`a string of ${length} bytes does not fit`)
  if (length > max) return length
  return c.bytes(length)
}

async function skipValue(c: Cursor, type: number, inArray: boolean): Promise<void> {
  const size = SCALAR_BYTES[type]
  if (size !== undefined) return c.skip(size)
  if (type === STRING) {
    const length = await c.u64()
    return c.skip(length)
  }
  if (type !== ARRAY || inArray) throw new Bad(`unknown or nested value type ${type}`)
  const itemType = await c.u32()
  const count = await c.u64()
  const itemSize = SCALAR_BYTES[itemType]
  if (itemSize !== undefined) {
    if (count * itemSize > c.remaining()) throw new Bad(`an array of ${count} values does not fit`)
    return c.skip(count * itemSize)
  }
  if (itemType !== STRING) throw new Bad(`unknown or nested array type ${itemType}`)
  if (count * 8 > c.remaining()) throw new Bad(`an array of ${count} strings does not fit`)
  for (let i = 0; i < count; i++) {
    await c.tick()
    await skipValue(c, STRING, true)
  }
}

/**
 * Checks the GGUF structure of a file of `size` bytes given as `chunks`, reading only up to the
 * tensor data. Throws 422 `invalid-gguf` ("gpu-infer: <label> is not a usable GGUF file: …").
 */
export async function checkGguf(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number, label: string,
): Promise<GgufLayout> {
  const iterator = Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]()
  try {
    return await readLayout(new Cursor(iterator, size), size)
  } catch (err) {
    if (!(err instanceof Bad)) throw err
    throw new UnprocessableError(`gpu-infer: ${label} is not a usable GGUF file: ${err.message}`, { code: 'invalid-gguf' })
  } finally {
    await iterator.return?.()
  }
}

async function readLayout(c: Cursor, size: number): Promise<GgufLayout> {
  if (size < 24) throw new Bad('too small')
  if ((await c.u32()) !== MAGIC) throw new Bad('no GGUF magic')
  const version = await c.u32()
  if (version !== 2 && version !== 3) throw new Bad(`unsupported version ${version}`)
  const tensors = await c.u64()
  const keys = await c.u64()
  if (tensors > MAX_ENTRIES || keys > MAX_ENTRIES || (tensors + keys) * 8 > size) throw new Bad('implausible tensor or key counts')

  let alignment = DEFAULT_ALIGNMENT
  const seen = new Set<string>()
  const text = new TextDecoder('utf-8', { fatal: true })
  for (let i = 0; i < keys; i++) {
    await c.tick()
    const raw = await readString(c, MAX_KEY_BYTES)
    if (typeof raw === 'number') throw new Bad(`a key of ${raw} bytes`)
    const key = decode(text, raw, 'a key')
    if (seen.has(key)) throw new Bad(`duplicate key ${JSON.stringify(key.slice(0, 64))}`)
    seen.add(key)
    const type = await c.u32()
    if (key === 'general.alignment') {
      if (type !== 4) throw new Bad('general.alignment is not a u32')
      alignment = await c.u32()
      if (alignment === 0 || (alignment & (alignment - 1)) !== 0) throw new Bad(`alignment ${alignment} is not a power of two`)
    } else await skipValue(c, type, false)
  }

  const names = new Set<string>()
  let expectedOffset = 0
  let dataEnd = 0
  for (let i = 0; i < tensors; i++) {
    await c.tick()
    const raw = await readString(c, 256)
    if (typeof raw === 'number') throw new Bad(`a tensor name of ${raw} bytes`)
    const name = decode(text, raw, 'a tensor name')
    if (names.has(name)) throw new Bad(`duplicate tensor ${JSON.stringify(name.slice(0, 64))}`)
    names.add(name)
    const dims = await c.u32()
    if (dims < 1 || dims > MAX_DIMS) throw new Bad(`tensor ${name} has ${dims} dimensions`)
    let elements = 1
    const shape: number[] = []
    for (let d = 0; d < dims; d++) {
      const n = await c.u64()
      shape.push(n)
      elements *= n
      if (elements > size * 8) throw new Bad(`tensor ${name} is larger than the file`)
    }
    const type = await c.u32()
    const block = TENSOR_TYPES[type]
    if (block === undefined) throw new Bad(`tensor ${name} has the unknown type ${type}`)
    if (shape[0]! % block[0] !== 0) throw new Bad(`tensor ${name}'s rows are not whole blocks of its type`)
    const offset = await c.u64()
    if (offset !== expectedOffset) throw new Bad(`tensor ${name} is at ${offset}, expected ${expectedOffset}`)
    const bytes = (elements / block[0]) * block[1]
    dataEnd = offset + bytes
    expectedOffset = Math.ceil(dataEnd / alignment) * alignment
  }
  // The last tensor's padding may be missing (llama.cpp checks each tensor's own end).
  const dataOffset = Math.ceil(c.offset / alignment) * alignment
  if (dataOffset + dataEnd > size) throw new Bad(`its tensor data needs ${dataEnd} bytes after byte ${dataOffset}; the file has ${size}`)
  return { version, tensors, keys, dataOffset, dataBytes: dataEnd }
}

function decode(text: TextDecoder, raw: Uint8Array, what: string): string {
  try {
    return text.decode(raw)
  } catch {
    throw new Bad(`${what} is not UTF-8`)
  }
}
