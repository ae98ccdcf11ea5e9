/**
 * @module
 * A minimal GGUF v3 serializer: metadata key/values, tensor infos, aligned tensor data.
 *
 * It knows nothing about llama: `gguf.ts` decides what to write. The writer produces the file
 * as a sequence of chunks (header first, then one chunk per tensor) so that a 50 MB model can be
 * streamed to disk without ever holding it whole, while `generateGguf` can still concatenate the
 * same chunks into one buffer. Tensor data is produced lazily by a callback, in file order.
 *
 * Format facts (llama.cpp `gguf-py`): little-endian; strings are `u64 length + UTF-8`; tensor
 * shapes are written in ggml order (ne0 = the contiguous dimension first); every tensor offset
 * is relative to the start of the data section and a multiple of `general.alignment`.
 */

import { quantizeQ4_0, quantizeQ4_K, quantizeQ8_0 } from './gguf-quant.js'

/** GGUF metadata value types (gguf-py `GGUFValueType`). */
export const GgufType = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7,
  STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
} as const

/** ggml tensor element types we write (ids of ggml's `ggml_type`). */
export const GgmlType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, Q4_K: 12 } as const
export type GgmlTypeId = (typeof GgmlType)[keyof typeof GgmlType]

/** One metadata value, tagged with its GGUF type so the encoding is explicit, never guessed. */
export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'f32[]'; value: ArrayLike<number> }
  | { type: 'i32[]'; value: ArrayLike<number> }

/** A tensor: name, shape in ggml order, element type and a producer of its raw bytes. */
export interface GgufTensor {
  name: string
  shape: readonly number[]
  type: GgmlTypeId
  /** Called once, in file order; must return exactly `elements × bytesPerElement` bytes. */
  data: () => Uint8Array
}

/** [elements per block, bytes per block] (ggml's type traits); plain floats are blocks of 1. */
export const GGML_BLOCKS: Readonly<Record<GgmlTypeId, readonly [number, number]>> = {
  [GgmlType.F32]: [1, 4], [GgmlType.F16]: [1, 2], [GgmlType.Q4_0]: [32, 18], [GgmlType.Q8_0]: [32, 34], [GgmlType.Q4_K]: [256, 144],
}

/** Growable little-endian byte sink for the header. */
function createSink() {
  let buf = new Uint8Array(1 << 16)
  let view = new DataView(buf.buffer)
  let len = 0
  const utf8 = new TextEncoder()
  const reserve = (n: number) => {
    if (len + n <= buf.length) return
    let size = buf.length * 2
    while (size < len + n) size *= 2
    const next = new Uint8Array(size)
    next.set(buf.subarray(0, len))
    buf = next
    view = new DataView(buf.buffer)
  }
  const sink = {
    u8(v: number) { reserve(1); view.setUint8(len, v); len += 1 },
    u32(v: number) { reserve(4); view.setUint32(len, v, true); len += 4 },
    i32(v: number) { reserve(4); view.setInt32(len, v, true); len += 4 },
    f32(v: number) { reserve(4); view.setFloat32(len, v, true); len += 4 },
    u64(v: number) { reserve(8); view.setBigUint64(len, BigInt(v), true); len += 8 },
    str(s: string) {
      const bytes = utf8.encode(s)
      sink.u64(bytes.length)
      reserve(bytes.length); buf.set(bytes, len); len += bytes.length
    },
    zeros(n: number) { reserve(n); buf.fill(0, len, len + n); len += n },
    get length() { return len },
    bytes: () => buf.slice(0, len),
  }
  return sink
}

type Sink = ReturnType<typeof createSink>

function writeValue(s: Sink, v: GgufValue): void {
  switch (v.type) {
    case 'u32': s.u32(GgufType.UINT32); s.u32(v.value); return
    case 'i32': s.u32(GgufType.INT32); s.i32(v.value); return
    case 'f32': s.u32(GgufType.FLOAT32); s.f32(v.value); return
    case 'bool': s.u32(GgufType.BOOL); s.u8(v.value ? 1 : 0); return
    case 'string': s.u32(GgufType.STRING); s.str(v.value); return
    case 'string[]':
      s.u32(GgufType.ARRAY); s.u32(GgufType.STRING); s.u64(v.value.length)
      for (const x of v.value) s.str(x)
      return
    case 'f32[]':
      s.u32(GgufType.ARRAY); s.u32(GgufType.FLOAT32); s.u64(v.value.length)
      for (let i = 0; i < v.value.length; i++) s.f32(v.value[i]!)
      return
    case 'i32[]':
      s.u32(GgufType.ARRAY); s.u32(GgufType.INT32); s.u64(v.value.length)
      for (let i = 0; i < v.value.length; i++) s.i32(v.value[i]!)
      return
  }
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a

/** Byte size of a tensor's data (unpadded). */
export function tensorBytes(t: Pick<GgufTensor, 'shape' | 'type'>): number {
  const [perBlock, blockBytes] = GGML_BLOCKS[t.type]
  if (t.shape[0]! % perBlock !== 0) throw new Error(`gguf: rows of ${t.shape[0]} values are not whole blocks of ${perBlock}`)
  return (t.shape.reduce((a, b) => a * b, 1) / perBlock) * blockBytes
}

/**
 * The file as chunks: the header (magic, KVs, tensor infos, padding), then each tensor's data
 * padded to the alignment. Metadata keys are written in the order given (callers keep a fixed
 * order, which is what makes the output byte-identical).
 */
export function* ggufChunks(
  metadata: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: readonly GgufTensor[],
  alignment = 32,
): Generator<Uint8Array> {
  const s = createSink()
  s.u32(0x46554747) // "GGUF" read as a little-endian u32
  s.u32(3)
  s.u64(tensors.length)
  s.u64(metadata.length)
  for (const [key, value] of metadata) { s.str(key); writeValue(s, value) }
  let offset = 0
  for (const t of tensors) {
    s.str(t.name)
    s.u32(t.shape.length)
    for (const d of t.shape) s.u64(d)
    s.u32(t.type)
    s.u64(offset)
    offset = alignUp(offset + tensorBytes(t), alignment)
  }
  s.zeros(alignUp(s.length, alignment) - s.length)
  yield s.bytes()
  for (const t of tensors) {
    const data = t.data()
    const expected = tensorBytes(t)
    if (data.length !== expected) throw new Error(`gguf: tensor ${t.name} has ${data.length} bytes, expected ${expected}`)
    yield data
    const pad = alignUp(expected, alignment) - expected
    if (pad > 0) yield new Uint8Array(pad)
  }
}

/** IEEE-754 binary16 bits for a float32 value, round-to-nearest-even (as numpy's astype). */
export function f32ToF16Bits(value: number): number {
  F32[0] = value
  const x = U32[0]!
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  let mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0) // Inf / NaN
  const e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00 // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign // underflow → signed zero
    mant |= 0x800000 // subnormal half: shift the implicit bit in, then round
    const shift = 14 - e
    const half = mant >>> shift
    const rest = mant & ((1 << shift) - 1)
    const mid = 1 << (shift - 1)
    return sign | (half + (rest > mid || (rest === mid && (half & 1)) ? 1 : 0))
  }
  const half = (e << 10) | (mant >>> 13)
  const rest = mant & 0x1fff
  // Rounding may carry into the exponent, which is exactly right (it can even reach Inf).
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0))
}

const F32 = new Float32Array(1)
const U32 = new Uint32Array(F32.buffer)

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Encode float values as little-endian bytes of the given ggml type. */
export function encodeTensor(values: Float32Array, type: GgmlTypeId): Uint8Array {
  if (type === GgmlType.Q8_0) return quantizeQ8_0(values)
  if (type === GgmlType.Q4_0) return quantizeQ4_0(values)
  if (type === GgmlType.Q4_K) return quantizeQ4_K(values)
  if (type === GgmlType.F32) {
    // Typed arrays use host byte order; GGUF is little-endian (so copy through DataView on BE).
    if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
    const out = new Uint8Array(values.length * 4)
    const view = new DataView(out.buffer)
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true)
    return out
  }
  const half = new Uint16Array(values.length)
  for (let i = 0; i < values.length; i++) half[i] = f32ToF16Bits(values[i]!)
  if (LITTLE_ENDIAN) return new Uint8Array(half.buffer)
  const out = new Uint8Array(values.length * 2)
  const view = new DataView(out.buffer)
  for (let i = 0; i < half.length; i++) view.setUint16(i * 2, half[i]!, true)
  return out
}
