/**
 * @module
 * Quantizing generated weights into ggml's block formats: Q8_0, Q4_0 and Q4_K.
 *
 * Real models are almost always quantized, and llama.cpp's numerics (and whether batching can
 * change them: docs/devices/gpu-infer.md) depend on the weight type, so tests need quantized
 * models too. The block layouts follow ggml (`ggml-common.h`, `ggml-quants.c`):
 * - Q8_0: 32 values → f16 scale `d` + 32 × int8 (34 bytes); x ≈ d·q.
 * - Q4_0: 32 values → f16 `d` + 16 bytes of nibbles, value j in the low nibble of byte j and
 *   value j+16 in its high nibble (18 bytes); x ≈ d·(q − 8).
 * - Q4_K: 256 values → f16 `d`, f16 `dmin`, 12 bytes of 6-bit scales/mins for 8 sub-blocks of
 *   32, 128 bytes of nibbles (144 bytes); x ≈ d·sc·q − dmin·m.
 * Q8_0 and Q4_0 use ggml's reference rounding in float32 (`Math.fround` at every step), so
 * they match `quantize_row_*_ref` bit for bit. Q4_K uses a plain min/max fit per sub-block, not
 * ggml's iterative search: a valid file of the same format, slightly less accurate (random
 * weights do not care). Only IEEE-exact operations are used, so files stay byte-identical on
 * every machine.
 */
import { f32ToF16Bits } from './gguf-writer.js'

const fr = Math.fround

/** C's roundf: halves away from zero (Math.round rounds them up). */
const roundf = (x: number) => (x < 0 ? -Math.round(-x) : Math.round(x))

const F16 = new Uint16Array(1)
/** The float value of binary16 bits (exact in float32). */
function f16ToF32(bits: number): number {
  F16[0] = bits
  const h = F16[0]!
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const mant = h & 0x3ff
  if (exp === 0) return sign * mant * 2 ** -24
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN
  return sign * (1 + mant / 1024) * 2 ** (exp - 15)
}

const putF16 = (out: DataView, at: number, value: number) => out.setUint16(at, f32ToF16Bits(value), true)

/** Q8_0, as ggml's `quantize_row_q8_0_ref`. `values.length` must be a multiple of 32. */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  const blocks = values.length / 32
  const out = new Uint8Array(blocks * 34)
  const view = new DataView(out.buffer)
  for (let b = 0; b < blocks; b++) {
    const x = values.subarray(b * 32, b * 32 + 32)
    let amax = 0
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[j]!))
    const d = fr(amax / 127)
    const id = d !== 0 ? fr(1 / d) : 0
    putF16(view, b * 34, d)
    for (let j = 0; j < 32; j++) view.setInt8(b * 34 + 2 + j, roundf(fr(x[j]! * id)))
  }
  return out
}

/** Q4_0, as ggml's `quantize_row_q4_0_ref`. `values.length` must be a multiple of 32. */
export function quantizeQ4_0(values: Float32Array): Uint8Array {
  const blocks = values.length / 32
  const out = new Uint8Array(blocks * 18)
  const view = new DataView(out.buffer)
  for (let b = 0; b < blocks; b++) {
    const x = values.subarray(b * 32, b * 32 + 32)
    let amax = 0
    let max = 0 // the value of largest magnitude, with its sign
    for (let j = 0; j < 32; j++) if (amax < Math.abs(x[j]!)) { amax = Math.abs(x[j]!); max = x[j]! }
    const d = fr(max / -8)
    const id = d !== 0 ? fr(1 / d) : 0
    putF16(view, b * 18, d)
    for (let j = 0; j < 16; j++) {
      // (int8_t)(x + 8.5f) truncates toward zero; the sum is ≥ 0.5 here, so Math.trunc = floor.
      const lo = Math.min(15, Math.trunc(fr(fr(x[j]! * id) + 8.5)))
      const hi = Math.min(15, Math.trunc(fr(fr(x[j + 16]! * id) + 8.5)))
      out[b * 18 + 2 + j] = lo | (hi << 4)
    }
  }
  return out
}

/** Q4_K: 256-value super-blocks, 8 sub-blocks with 6-bit scales and mins (ggml `block_q4_K`). */
export function quantizeQ4_K(values: Float32Array): Uint8Array {
  const blocks = values.length / 256
  const out = new Uint8Array(blocks * 144)
  const view = new DataView(out.buffer)
  const scales = new Float32Array(8)
  const mins = new Float32Array(8)
  const ls = new Uint8Array(8)
  const lm = new Uint8Array(8)
  const q = new Uint8Array(256)
  for (let b = 0; b < blocks; b++) {
    const x = values.subarray(b * 256, b * 256 + 256)
    let maxScale = 0
    let maxMin = 0
    for (let s = 0; s < 8; s++) {
      let lo = 0 // the min is clamped to ≤ 0, as ggml does: `m` is stored as a positive offset
      let hi = -Infinity
      for (let j = s * 32; j < s * 32 + 32; j++) { lo = Math.min(lo, x[j]!); hi = Math.max(hi, x[j]!) }
      scales[s] = fr((hi - lo) / 15)
      mins[s] = -lo
      maxScale = Math.max(maxScale, scales[s]!)
      maxMin = Math.max(maxMin, mins[s]!)
    }
    // The super-block scales are stored as f16; quantize against the stored (rounded) values.
    const dBits = f32ToF16Bits(fr(maxScale / 63))
    const mBits = f32ToF16Bits(fr(maxMin / 63))
    const d = f16ToF32(dBits)
    const dmin = f16ToF32(mBits)
    for (let s = 0; s < 8; s++) {
      ls[s] = d > 0 ? Math.min(63, roundf(fr(scales[s]! / d))) : 0
      lm[s] = dmin > 0 ? Math.min(63, roundf(fr(mins[s]! / dmin))) : 0
      const dl = fr(d * ls[s]!)
      const ml = fr(dmin * lm[s]!)
      for (let j = s * 32; j < s * 32 + 32; j++) {
        q[j] = dl > 0 ? Math.max(0, Math.min(15, roundf(fr(fr(x[j]! + ml) / dl)))) : 0
      }
    }
    const at = b * 144
    view.setUint16(at, dBits, true)
    view.setUint16(at + 2, mBits, true)
    // 6-bit scale/min packing of ggml's `get_scale_min_k4` (sub-blocks 4..7 split over bytes).
    const sc = out.subarray(at + 4, at + 16)
    for (let j = 0; j < 8; j++) {
      if (j < 4) { sc[j] = ls[j]!; sc[j + 4] = lm[j]! } else {
        sc[j + 4] = (ls[j]! & 0xf) | ((lm[j]! & 0xf) << 4)
        sc[j - 4]! |= (ls[j]! >> 4) << 6
        sc[j]! |= (lm[j]! >> 4) << 6
      }
    }
    // Nibbles: each 64-value chunk is 32 bytes, value l low and value l+32 high.
    const qs = out.subarray(at + 16, at + 144)
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) qs[c * 32 + l] = q[c * 64 + l]! | (q[c * 64 + l + 32]! << 4)
    }
  }
  return out
}

/** Inverse of the formats above (tests check round-trips; llama.cpp is the real judge). */
export function dequantize(bytes: Uint8Array, kind: 'q8_0' | 'q4_0' | 'q4_k', count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out = new Float32Array(count)
  if (kind === 'q8_0') {
    for (let i = 0; i < count; i++) {
      const b = Math.floor(i / 32)
      out[i] = f16ToF32(view.getUint16(b * 34, true)) * view.getInt8(b * 34 + 2 + (i % 32))
    }
  } else if (kind === 'q4_0') {
    for (let i = 0; i < count; i++) {
      const b = Math.floor(i / 32)
      const j = i % 32
      const byte = bytes[b * 18 + 2 + (j % 16)]!
      out[i] = f16ToF32(view.getUint16(b * 18, true)) * ((j < 16 ? byte & 0xf : byte >> 4) - 8)
    }
  } else {
    for (let i = 0; i < count; i++) {
      const at = Math.floor(i / 256) * 144
      const j = i % 256
      const s = Math.floor(j / 32)
      const sc = bytes.subarray(at + 4, at + 16)
      const scale = s < 4 ? sc[s]! & 63 : (sc[s + 4]! & 0xf) | ((sc[s - 4]! >> 6) << 4)
      const min = s < 4 ? sc[s + 4]! & 63 : (sc[s + 4]! >> 4) | ((sc[s]! >> 6) << 4)
      const c = Math.floor(j / 64)
      const byte = bytes[at + 16 + c * 32 + (j % 32)]!
      const nib = j % 64 < 32 ? byte & 0xf : byte >> 4
      out[i] = f16ToF32(view.getUint16(at, true)) * scale * nib - f16ToF32(view.getUint16(at + 2, true)) * min
    }
  }
  return out
}
