/**
 * @module
 * Generates small llama-architecture GGUF models with seeded random weights.
 *
 * Tests, benchmarks and the quickstart need real models that llama.cpp will load, without
 * downloads and without committing binaries. These models produce gibberish, but every code
 * path (tokenizer, attention, sampling, grammars, chat templates, timings, determinism) is the
 * one a real model takes. The output is a pure function of the arguments: same arguments, same
 * bytes (see gguf-random.ts for why that holds across machines).
 *
 * Sizes: `tiny` (~0.8 MB, F32, for tests: JS overhead dominates), `medium` (~26M params,
 * ~52 MB F16, for benchmarks: compute dominates) and `large` (~413M params, ~440 MB as Q8_0:
 * decoding is memory-bound, which is where batching pays; benchmarks only, into a temp dir).
 * `quant` stores the 2-D matrices as F16 or in a ggml block format (gguf-quant.ts); norms stay
 * F32. Recipe: ../shared/research/llama.md §4.
 */
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { ggufChunks, encodeTensor, GGML_BLOCKS, GgmlType, type GgmlTypeId, type GgufTensor, type GgufValue } from './gguf-writer.js'
import { buildVocab, TokenType } from './gguf-vocab.js'
import { createPrng } from './gguf-random.js'
import { CHATML_TEMPLATE } from './constants.js'

export type GgufSize = 'tiny' | 'medium' | 'large'

/** Weight formats of the matrices (absent: the size's own type, F32 for tiny, F16 otherwise). */
export type GgufQuant = 'f16' | 'q8_0' | 'q4_0' | 'q4_k'
export const GGUF_QUANTS: readonly GgufQuant[] = ['f16', 'q8_0', 'q4_0', 'q4_k']

const QUANT_TYPES: Readonly<Record<GgufQuant, GgmlTypeId>> = {
  f16: GgmlType.F16, q8_0: GgmlType.Q8_0, q4_0: GgmlType.Q4_0, q4_k: GgmlType.Q4_K,
}
/** `general.file_type` (llama_ftype): F32 0, F16 1, Q4_0 2, Q8_0 7, Q4_K_S 14. */
const FILE_TYPES: Readonly<Record<number, number>> = {
  [GgmlType.F32]: 0, [GgmlType.F16]: 1, [GgmlType.Q4_0]: 2, [GgmlType.Q8_0]: 7, [GgmlType.Q4_K]: 14,
}

export interface GgufOptions {
  size: GgufSize
  /** PRNG seed for the weights (default 1). */
  seed?: number
  /** `true` = a ChatML template (and its control tokens); a string = that Jinja template. */
  chatTemplate?: boolean | string
  /** `general.name` (default `hashbeam-<size>-s<seed>`, plus `-<quant>` when one is given). */
  name?: string
  /** Matrix weight format (default: the size's own type). */
  quant?: GgufQuant
}

/** Architecture hyper-parameters of a generated model. */
export interface GgufShape {
  embd: number
  layers: number
  heads: number
  headsKv: number
  ff: number
  contextLength: number
  type: GgmlTypeId
}

/** The two fixed shapes. Changing one changes every golden hash. */
export const GGUF_SHAPES: Readonly<Record<GgufSize, GgufShape>> = {
  tiny: { embd: 64, layers: 2, heads: 4, headsKv: 4, ff: 256, contextLength: 2048, type: GgmlType.F32 },
  medium: { embd: 512, layers: 8, heads: 8, headsKv: 8, ff: 1408, contextLength: 2048, type: GgmlType.F16 },
  large: { embd: 2048, layers: 8, heads: 16, headsKv: 16, ff: 5632, contextLength: 2048, type: GgmlType.F16 },
}

function normalizeOptions(opts: GgufOptions) {
  const shape = GGUF_SHAPES[opts.size]
  if (shape === undefined) throw new TypeError(`gguf: unknown size ${String(opts.size)}`)
  const seed = opts.seed ?? 1
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError('gguf: seed must be an integer in [0, 2^32)')
  const template = opts.chatTemplate === true ? CHATML_TEMPLATE : typeof opts.chatTemplate === 'string' ? opts.chatTemplate : undefined
  if (opts.quant !== undefined && !GGUF_QUANTS.includes(opts.quant)) throw new TypeError(`gguf: unknown quant ${String(opts.quant)}`)
  const type = opts.quant === undefined ? shape.type : QUANT_TYPES[opts.quant]
  const suffix = opts.quant === undefined ? '' : `-${opts.quant}`
  return { shape: { ...shape, type }, seed, template, name: opts.name ?? `hashbeam-${opts.size}-s${seed}${suffix}` }
}

/**
 * The type a matrix with rows of `cols` values is stored in: the model's type when its rows are
 * whole blocks of it, else Q8_0 (then F16), as llama.cpp's quantizer falls back for such rows
 * (medium's ffn_down rows of 1408 are not whole 256-value Q4_K blocks).
 */
function matrixType(type: GgmlTypeId, cols: number): GgmlTypeId {
  for (const t of [type, GgmlType.Q8_0, GgmlType.F16]) if (cols % GGML_BLOCKS[t][0] === 0) return t
  return GgmlType.F32
}

/** The metadata and tensor list of a model (tensor data is generated lazily, in order). */
function describe(opts: GgufOptions): { metadata: Array<[string, GgufValue]>; tensors: GgufTensor[] } {
  const { shape, seed, template, name } = normalizeOptions(opts)
  const vocab = buildVocab({ chatTokens: template !== undefined })
  const nVocab = vocab.tokens.length
  const { embd, ff, heads, headsKv, layers } = shape
  const headDim = embd / heads
  const u32 = (value: number): GgufValue => ({ type: 'u32', value })
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: name }],
    ['general.alignment', u32(32)],
    ['general.file_type', u32(FILE_TYPES[shape.type]!)],
    ['llama.vocab_size', u32(nVocab)],
    ['llama.context_length', u32(shape.contextLength)],
    ['llama.embedding_length', u32(embd)],
    ['llama.block_count', u32(layers)],
    ['llama.feed_forward_length', u32(ff)],
    ['llama.attention.head_count', u32(heads)],
    ['llama.attention.head_count_kv', u32(headsKv)],
    ['llama.rope.dimension_count', u32(headDim)],
    ['llama.rope.freq_base', { type: 'f32', value: 10000 }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: 'f32[]', value: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: vocab.types }],
    ['tokenizer.ggml.bos_token_id', u32(vocab.bos)],
    ['tokenizer.ggml.eos_token_id', u32(vocab.eos)],
    ['tokenizer.ggml.unknown_token_id', u32(vocab.unk)],
    ['tokenizer.ggml.padding_token_id', u32(vocab.unk)],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }],
  ]
  if (vocab.eot !== undefined) metadata.push(['tokenizer.ggml.eot_token_id', u32(vocab.eot)])
  if (template !== undefined) metadata.push(['tokenizer.chat_template', { type: 'string', value: template }])

  // Every tensor draws from its own stream (seed, index), so tensors never shift each other.
  let stream = 0
  const tensors: GgufTensor[] = []
  const matrix = (tname: string, cols: number, rows: number, std: number) => {
    const s = stream++
    const type = matrixType(shape.type, cols)
    tensors.push({
      name: tname, shape: [cols, rows], type,
      data: () => encodeTensor(createPrng(seed, s).fillNormal(new Float32Array(cols * rows), std), type),
    })
  }
  // Norm weights stay F32 even in F16 files, as llama.cpp's converters do.
  const ones = (tname: string, n: number) => {
    tensors.push({ name: tname, shape: [n], type: GgmlType.F32, data: () => encodeTensor(new Float32Array(n).fill(1), GgmlType.F32) })
  }
  // Output std 2/√embd keeps logits varied (std ≈ 2) instead of collapsing onto one token.
  // Rows of byte and control tokens get a quarter of that, so the model mostly "speaks" in
  // pieces (readable gibberish, valid UTF-8) like a real model, yet bytes and EOS stay possible.
  matrix('token_embd.weight', embd, nVocab, 1)
  ones('output_norm.weight', embd)
  const outStd = 2 / Math.sqrt(embd)
  const rowScale = Float32Array.from(vocab.types, (t) => (t === TokenType.NORMAL ? 1 : 0.25))
  rowScale[vocab.eos] = 1
  if (vocab.eot !== undefined) rowScale[vocab.eot] = 1
  const outStream = stream++
  const outType = matrixType(shape.type, embd)
  tensors.push({
    name: 'output.weight', shape: [embd, nVocab], type: outType,
    data: () => {
      const w = createPrng(seed, outStream).fillNormal(new Float32Array(embd * nVocab), outStd)
      for (let row = 0; row < nVocab; row++) {
        const k = rowScale[row]!
        for (let i = row * embd; i < (row + 1) * embd; i++) w[i] = w[i]! * k
      }
      return encodeTensor(w, outType)
    },
  })
  const inStd = 1 / Math.sqrt(embd)
  for (let l = 0; l < layers; l++) {
    ones(`blk.${l}.attn_norm.weight`, embd)
    matrix(`blk.${l}.attn_q.weight`, embd, headDim * heads, inStd)
    matrix(`blk.${l}.attn_k.weight`, embd, headDim * headsKv, inStd)
    matrix(`blk.${l}.attn_v.weight`, embd, headDim * headsKv, inStd)
    matrix(`blk.${l}.attn_output.weight`, headDim * heads, embd, inStd)
    ones(`blk.${l}.ffn_norm.weight`, embd)
    matrix(`blk.${l}.ffn_gate.weight`, embd, ff, inStd)
    matrix(`blk.${l}.ffn_up.weight`, embd, ff, inStd)
    matrix(`blk.${l}.ffn_down.weight`, ff, embd, 1 / Math.sqrt(ff))
  }
  return { metadata, tensors }
}

/** The GGUF file as chunks, for callers that stream it elsewhere (a store, a socket). */
export function ggufStream(opts: GgufOptions): Generator<Uint8Array> {
  const { metadata, tensors } = describe(opts)
  return ggufChunks(metadata, tensors)
}

/** The whole GGUF file in memory (fine for tiny; medium is ~52 MB, prefer `writeGguf`). */
export function generateGguf(opts: GgufOptions): Uint8Array {
  const chunks = [...ggufStream(opts)]
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) { out.set(c, at); at += c.length }
  return out
}

/** Stream the GGUF file to `path` (one tensor in memory at a time). Resolves to its size. */
export async function writeGguf(path: string, opts: GgufOptions, onBytes?: (written: number) => void): Promise<number> {
  const out = createWriteStream(path)
  let bytes = 0
  try {
    for (const chunk of ggufStream(opts)) {
      bytes += chunk.length
      onBytes?.(bytes)
      if (!out.write(chunk)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
  } catch (err) {
    out.destroy()
    throw err
  }
  return bytes
}
