/**
 * @module
 * The seeded random numbers behind generated model weights.
 *
 * Byte-identical files for the same arguments are the contract, on every machine and every
 * future Node version. So the generator uses only operations IEEE-754 defines exactly (integer
 * ops, +, ×, sqrt): no Math.random, and no Math.log/cos (Box–Muller), whose last bits are
 * engine-defined. Normal-ish values come from the Irwin–Hall sum of four uniforms, rescaled to
 * unit variance; the bounded tails (±2√3σ) are fine, even welcome, for random weights.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting RNG), seeded with splitmix32 so
 * nearby seeds (1, 2, 3 …) give unrelated streams.
 */

/** A 32-bit seeded stream: `next()` in [0, 2^32), `uniform()` in [0, 1), `normal()` ~ N(0, 1). */
export interface Prng {
  next(): number
  uniform(): number
  normal(): number
  /** Fill `out` with N(0, std²) values rounded to float32. */
  fillNormal(out: Float32Array, std: number): Float32Array
}

/** splitmix32: turns one seed into well-mixed words to initialise sfc32. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

const SQRT3 = Math.sqrt(3)
const INV_2_32 = 1 / 4294967296

/** A new stream for `seed` (an integer; taken modulo 2^32) and a `stream` label. */
export function createPrng(seed: number, stream = 0): Prng {
  const mix = splitmix32((seed ^ Math.imul(stream + 1, 0x27d4eb2d)) >>> 0)
  let a = mix() | 0, b = mix() | 0, c = mix() | 0, d = 1
  // State kept as int32 (`| 0`) so V8 stays on small integers; outputs are read as uint32.
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (((c << 21) | (c >>> 11)) + t) | 0
    return t >>> 0
  }
  for (let i = 0; i < 12; i++) next() // the usual warm-up
  const uniform = () => next() * INV_2_32
  // Sum of 4 U(0,1) has mean 2 and variance 1/3; exact arithmetic only.
  const normal = () => (uniform() + uniform() + uniform() + uniform() - 2) * SQRT3
  return {
    next,
    uniform,
    normal,
    // The hot loop of model generation (26M values for medium): sfc32 inlined on local state,
    // bit-for-bit the same sequence as calling normal() repeatedly.
    fillNormal(out, std) {
      let a0 = a, b0 = b, c0 = c, d0 = d
      for (let i = 0; i < out.length; i++) {
        let sum = 0
        for (let k = 0; k < 4; k++) {
          const t = (((a0 + b0) | 0) + d0) | 0
          d0 = (d0 + 1) | 0
          a0 = b0 ^ (b0 >>> 9)
          b0 = (c0 + (c0 << 3)) | 0
          c0 = (((c0 << 21) | (c0 >>> 11)) + t) | 0
          sum += (t >>> 0) * INV_2_32
        }
        out[i] = (sum - 2) * SQRT3 * std
      }
      a = a0; b = b0; c = c0; d = d0
      return out
    },
  }
}
