/**
 * The model generator: byte-identical output, golden hashes, a header llama.cpp's own reader
 * accepts, and the float16 / PRNG building blocks it relies on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readGgufFileInfo } from 'node-llama-cpp'
import { generateGguf, ggufStream, GGUF_SHAPES } from '../../../devices/gpu-infer/gguf.js'
import { f32ToF16Bits } from '../../../devices/gpu-infer/gguf-writer.js'
import { createPrng } from '../../../devices/gpu-infer/gguf-random.js'
import { CHATML_TEMPLATE } from '../../../devices/gpu-infer/constants.js'
import { modelDir, type ModelDir } from './fixtures.js'

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

// Changing the generator (shapes, vocab, PRNG, init scales) changes these on purpose: update
// them together with a note, since cached results name models by hash.
const GOLDEN_TINY_SEED1 = 'd1f27662e5218769ddda6dd7ba6311e7d15cc11eea9a0bb1730e2d52fafa46cd'
const GOLDEN_TINY_SEED1_CHAT = '29d8419483f78a7704fdb26a906728ea6c68645bfd4f2c4a4c90e8d09dbc5b28'

let dir: ModelDir
beforeAll(async () => { dir = await modelDir() })
afterAll(async () => { await dir.cleanup() })

describe('generateGguf', () => {
  it('is byte-identical for the same arguments and matches the golden hash', () => {
    const a = generateGguf({ size: 'tiny', seed: 1 })
    const b = generateGguf({ size: 'tiny', seed: 1 })
    expect(sha256(a)).toBe(sha256(b))
    expect(sha256(a)).toBe(GOLDEN_TINY_SEED1)
    expect(sha256(generateGguf({ size: 'tiny', seed: 1, chatTemplate: true }))).toBe(GOLDEN_TINY_SEED1_CHAT)
    expect(a.length).toBeGreaterThan(700_000)
    expect(a.length).toBeLessThan(1_100_000)
  })

  it('defaults to seed 1, and other seeds or names give other files', () => {
    const base = sha256(generateGguf({ size: 'tiny' }))
    expect(base).toBe(GOLDEN_TINY_SEED1)
    expect(sha256(generateGguf({ size: 'tiny', seed: 2 }))).not.toBe(base)
    expect(sha256(generateGguf({ size: 'tiny', seed: 1, name: 'other' }))).not.toBe(base)
  })

  it('writeGguf streams exactly the bytes generateGguf returns', async () => {
    const path = await dir.make('t', { size: 'tiny', seed: 7, chatTemplate: 'custom {{ x }}' })
    expect(sha256(await readFile(path))).toBe(sha256(generateGguf({ size: 'tiny', seed: 7, chatTemplate: 'custom {{ x }}' })))
  })

  it('writes metadata llama.cpp reads back: architecture, SPM vocab with byte tokens, template', async () => {
    const path = await dir.make('chat', { size: 'tiny', seed: 3, chatTemplate: true, name: 'my-model' })
    const info = await readGgufFileInfo(path, { readTensorInfo: true })
    const md = info.metadata as unknown as Record<string, Record<string, unknown>>
    expect(md.general).toMatchObject({ architecture: 'llama', name: 'my-model', alignment: 32, file_type: 0 })
    const tok = md.tokenizer!.ggml as Record<string, unknown>
    const tokens = tok.tokens as string[]
    expect(tok.model).toBe('llama')
    expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>'])
    expect(tokens[3 + 0x0a]).toBe('<0x0A>')
    expect(tokens[258]).toBe('<0xFF>')
    expect(tokens).toContain('\u2581the')
    expect(tokens.slice(-2)).toEqual(['<|im_start|>', '<|im_end|>'])
    expect(tok.eot_token_id).toBe(tokens.length - 1)
    expect(md.tokenizer!.chat_template).toBe(CHATML_TEMPLATE)
    expect(info.tensorInfo!.map((t) => t.name)).toContain('blk.1.ffn_down.weight')
  })

  it('describes medium as a ~26M-parameter F16 model without generating its weights', async () => {
    const header = ggufStream({ size: 'medium', seed: 1 }).next().value!
    const path = join(dir.dir, 'medium-header.gguf')
    await writeFile(path, header)
    const info = await readGgufFileInfo(path, { readTensorInfo: true })
    const params = info.tensorInfo!.reduce((n, t) => n + t.dimensions.reduce<number>((a, d) => a * Number(d), 1), 0)
    expect(params).toBeGreaterThan(24_000_000)
    expect(params).toBeLessThan(28_000_000)
    expect((info.metadata as unknown as Record<string, Record<string, unknown>>).general!.file_type).toBe(1)
    expect(info.tensorInfo!.find((t) => t.name === 'blk.0.attn_q.weight')!.ggmlType).toBe(1) // F16
    expect(info.tensorInfo!.find((t) => t.name === 'output_norm.weight')!.ggmlType).toBe(0) // F32
    expect(GGUF_SHAPES.medium.layers).toBe(8)
  })

  it('rejects bad options', () => {
    expect(() => generateGguf({ size: 'huge' as never })).toThrow(/unknown size/)
    expect(() => generateGguf({ size: 'tiny', seed: -1 })).toThrow(/seed/)
    expect(() => generateGguf({ size: 'tiny', seed: 1.5 })).toThrow(/seed/)
  })
})

describe('building blocks', () => {
  it('converts float32 to float16 with round-to-nearest-even', () => {
    expect(f32ToF16Bits(0)).toBe(0x0000)
    expect(f32ToF16Bits(-0)).toBe(0x8000)
    expect(f32ToF16Bits(1)).toBe(0x3c00)
    expect(f32ToF16Bits(-2)).toBe(0xc000)
    expect(f32ToF16Bits(65504)).toBe(0x7bff) // largest half
    expect(f32ToF16Bits(1e6)).toBe(0x7c00) // overflow → +Inf
    expect(f32ToF16Bits(Number.NaN) & 0x7e00).toBe(0x7e00)
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001) // smallest subnormal
    expect(f32ToF16Bits(2 ** -14)).toBe(0x0400) // smallest normal
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00) // tie → even (down)
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02) // tie → even (up)
    expect(f32ToF16Bits(2 ** -26)).toBe(0x0000) // underflow
  })

  it('has a seeded PRNG: same seed same stream, roughly unit normal', () => {
    const a = createPrng(42, 0)
    const b = createPrng(42, 0)
    const xs = Array.from({ length: 5 }, () => a.next())
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs)
    expect(createPrng(42, 1).next()).not.toBe(xs[0])
    // fillNormal is an inlined copy of normal(): same values bit for bit.
    const c = createPrng(9), d = createPrng(9)
    const filled = c.fillNormal(new Float32Array(1000), 0.5)
    expect(Array.from(filled)).toEqual(Array.from({ length: 1000 }, () => Math.fround(d.normal() * 0.5)))
    const big = createPrng(5).fillNormal(new Float32Array(20000), 1)
    const mean = big.reduce((s, v) => s + v, 0) / big.length
    const variance = big.reduce((s, v) => s + (v - mean) ** 2, 0) / big.length
    expect(Math.abs(mean)).toBeLessThan(0.05)
    expect(Math.abs(variance - 1)).toBeLessThan(0.05)
  })
})
