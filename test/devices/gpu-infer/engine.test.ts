/**
 * The engine generating with real llama.cpp on generated tiny models: determinism (against a
 * second engine and against node-llama-cpp called directly), sampling, stop sequences, token
 * limits, JSON mode, streaming, abort, chat formats and input validation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from 'node-llama-cpp'
import type { Engine } from '../../../devices/gpu-infer/engine.js'
import { modelDir, rejection, testEngine, type ModelDir } from './fixtures.js'

let dir: ModelDir
let engine: Engine
let other: Engine
let llama: Llama
let paths: { plain: string; chat: string; jinja: string }

const JINJA = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}"

beforeAll(async () => {
  dir = await modelDir()
  paths = {
    plain: await dir.make('plain', { size: 'tiny', seed: 1 }),
    chat: await dir.make('chat', { size: 'tiny', seed: 1, chatTemplate: true }),
    jinja: await dir.make('jinja', { size: 'tiny', seed: 2, chatTemplate: JINJA }),
  }
  engine = testEngine()
  other = testEngine()
  for (const e of [engine, other]) {
    await e.addModel('plain', paths.plain)
    await e.addModel('chat', paths.chat)
    await e.addModel('jinja', paths.jinja)
  }
  llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.warn })
})

afterAll(async () => {
  await engine?.close()
  await other?.close()
  await llama?.dispose()
  await dir?.cleanup()
})

/** Greedy tokens from node-llama-cpp's low-level API, for comparison with the engine. */
async function direct(model: LlamaModel, tokens: Token[], n: number): Promise<number[]> {
  const ctx = await model.createContext({ contextSize: 512, batchSize: 256, threads: 1, flashAttention: false, sequences: 1 })
  const seq = ctx.getSequence()
  const out: number[] = []
  for await (const t of seq.evaluate(tokens, { temperature: 0 })) { out.push(t); if (out.length >= n) break }
  await ctx.dispose()
  return out
}

describe('determinism', () => {
  it('greedy output is identical across two engines and equals node-llama-cpp called directly', async () => {
    const req = { model: 'plain', prompt: 'Once upon a time there was a llama', maxTokens: 48 }
    const a = await engine.complete(req)
    const b = await other.complete(req)
    expect(a.output.length).toBeGreaterThan(0)
    expect(b.output).toBe(a.output)
    expect(b.tokens).toEqual(a.tokens)
    const model = await llama.loadModel({ modelPath: paths.plain, gpuLayers: 0 })
    try {
      const prompt = [model.tokens.bos!, ...model.tokenize(req.prompt, false)]
      expect(a.usage.promptTokens).toBe(prompt.length)
      expect(await direct(model, prompt, a.tokens.length)).toEqual(a.tokens)
      // prompt + output reads as one text: the output keeps its SentencePiece spacing.
      expect(req.prompt + a.output).toBe(model.detokenize([...prompt.slice(1), ...a.tokens as Token[]]))
    } finally {
      await model.dispose()
    }
  })

  it('seeded sampling repeats for the same seed and reports the seed it used', async () => {
    const req = { model: 'plain', prompt: 'Hello', maxTokens: 32, temperature: 0.9, seed: 42 }
    const a = await engine.complete(req)
    const b = await other.complete(req)
    expect(b.output).toBe(a.output)
    expect(a.sampler).toMatchObject({ temperature: 0.9, seed: 42, topK: 40, topP: 0.95 })
    const c = await engine.complete({ ...req, seed: 43 })
    expect(c.tokens).not.toEqual(a.tokens)
    const drawn = await engine.complete({ ...req, seed: undefined })
    expect(Number.isInteger(drawn.sampler.seed)).toBe(true)
    const again = await engine.complete({ ...req, seed: drawn.sampler.seed! })
    expect(again.output).toBe(drawn.output)
    expect((await engine.complete({ ...req, temperature: 0 })).sampler.seed).toBeNull()
  })
})

describe('limits and stops', () => {
  it('honours maxTokens with finishReason length', async () => {
    const r = await engine.complete({ model: 'plain', prompt: 'Once upon a time', maxTokens: 5 })
    expect(r.finishReason).toBe('length')
    expect(r.usage.completionTokens).toBe(5)
    expect(r.usage.totalTokens).toBe(r.usage.promptTokens + 5)
    expect(r.timings.tokensPerSecond).toBeGreaterThan(0)
  })

  it('stops before the first stop sequence and streams exactly the output', async () => {
    const full = await engine.complete({ model: 'plain', prompt: 'The llama said', maxTokens: 60 })
    const stop = full.output.slice(20, 23)
    const cut = full.output.indexOf(stop)
    const chunks: string[] = []
    const r = await engine.complete({ model: 'plain', prompt: 'The llama said', maxTokens: 60, stop: ['never-there', stop], onToken: (t) => chunks.push(t) })
    expect(r.finishReason).toBe('stop')
    expect(r.stopSequence).toBe(stop)
    expect(r.output).toBe(full.output.slice(0, cut))
    expect(chunks.join('')).toBe(r.output)
    expect(chunks.length).toBeGreaterThan(1)
  })
})

describe('json mode', () => {
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 12 },
      count: { type: 'integer' },
      ratio: { type: 'number' },
      ok: { type: 'boolean' },
      kind: { enum: ['a', 'b', 'c'] },
      tags: { type: 'array', items: { type: 'string', maxLength: 5 }, maxItems: 3 },
    },
    required: ['name', 'count'],
  }

  it('produces output that parses and matches the schema, even from random weights', async () => {
    for (const [prompt, temperature] of [['json:', 0], ['Describe a llama', 0], ['{', 0.8]] as const) {
      const r = await engine.complete({ model: 'plain', prompt, maxTokens: 400, jsonSchema: schema, temperature, seed: 5 })
      expect(r.finishReason).toBe('stop')
      const value = JSON.parse(r.output) as Record<string, unknown>
      expect(r.json).toEqual(value)
      expect(Object.keys(value).sort()).toEqual(['count', 'kind', 'name', 'ok', 'ratio', 'tags'])
      expect(typeof value.name === 'string' && value.name.length <= 12).toBe(true)
      expect(Number.isInteger(value.count)).toBe(true)
      expect(Number.isFinite(value.ratio)).toBe(true)
      expect(typeof value.ok).toBe('boolean')
      expect(['a', 'b', 'c']).toContain(value.kind)
      expect(Array.isArray(value.tags) && value.tags.length <= 3 && value.tags.every((t) => typeof t === 'string' && t.length <= 5)).toBe(true)
    }
  })
})

describe('abort', () => {
  it('cancels mid-generation, frees the sequence, and the engine keeps serving', async () => {
    const ac = new AbortController()
    let seen = 0
    const r = await engine.complete({
      model: 'plain', prompt: 'Once', maxTokens: 400, signal: ac.signal,
      onToken: () => { if (++seen === 3) ac.abort() },
    })
    expect(r.finishReason).toBe('abort')
    expect(r.usage.completionTokens).toBeLessThan(400)
    const after = await engine.complete({ model: 'plain', prompt: 'Once', maxTokens: 8 })
    expect(after.finishReason).toBe('length')
    // A fresh sequence: same answer as a request that never saw the aborted one.
    expect(after.tokens).toEqual((await other.complete({ model: 'plain', prompt: 'Once', maxTokens: 8 })).tokens)
  })

  it('a throwing onToken (a client gone) stops generation like an abort', async () => {
    const r = await engine.complete({ model: 'plain', prompt: 'Once', maxTokens: 100, onToken: () => { throw new Error('sink gone') } })
    expect(r.finishReason).toBe('abort')
    expect(r.usage.completionTokens).toBeLessThan(100)
  })

  it('an already aborted request returns at once with no tokens', async () => {
    const r = await engine.complete({ model: 'plain', prompt: 'Once', signal: AbortSignal.abort() })
    expect(r.finishReason).toBe('abort')
    expect(r.tokens).toEqual([])
    expect(r.usage.completionTokens).toBe(0)
  })
})

describe('chat', () => {
  it('uses the model template when present (ChatML renders to control tokens)', async () => {
    const r = await engine.chat({ model: 'chat', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], maxTokens: 16 })
    expect(r.promptFormat).toBe('JinjaTemplate')
    const model = await llama.loadModel({ modelPath: paths.chat, gpuLayers: 0 })
    try {
      const prompt = [model.tokens.bos!, ...model.tokenize('<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n', true)]
      expect(r.usage.promptTokens).toBe(prompt.length)
      expect(await direct(model, prompt, r.tokens.length)).toEqual(r.tokens)
    } finally {
      await model.dispose()
    }
  })

  it('renders a custom Jinja template', async () => {
    const r = await engine.chat({ model: 'jinja', messages: [{ role: 'user', content: 'hi' }], maxTokens: 8 })
    expect(r.promptFormat).toBe('JinjaTemplate')
    expect(r.usage.completionTokens).toBeGreaterThan(0)
  })

  it('falls back to a plain transcript without a template', async () => {
    const messages = [{ role: 'user' as const, content: 'hi there' }, { role: 'assistant' as const, content: 'hello' }, { role: 'user' as const, content: 'more' }]
    const r = await engine.chat({ model: 'plain', messages, maxTokens: 24 })
    expect(r.promptFormat).toBe('fallback')
    const same = await engine.complete({ model: 'plain', prompt: 'user: hi there\nassistant: hello\nuser: more\nassistant:', maxTokens: 24, stop: ['\nuser:', '\nsystem:', '\nassistant:'] })
    expect(r.output).toBe(same.output)
    expect(r.usage).toEqual(same.usage)
  })
})

describe('validation', () => {
  const base = { model: 'plain', prompt: 'hi' }
  it.each([
    ['empty-prompt', 400, { ...base, prompt: '' }],
    ['invalid-prompt', 400, { ...base, prompt: 5 as unknown as string }],
    ['invalid-max-tokens', 400, { ...base, maxTokens: 0 }],
    ['invalid-max-tokens', 400, { ...base, maxTokens: 1_000_000 }],
    ['invalid-max-tokens', 400, { ...base, maxTokens: 1.5 }],
    ['invalid-temperature', 400, { ...base, temperature: -1 }],
    ['invalid-temperature', 400, { ...base, temperature: Number.NaN }],
    ['invalid-top-p', 400, { ...base, topP: 0 }],
    ['invalid-top-k', 400, { ...base, topK: -2 }],
    ['invalid-min-p', 400, { ...base, minP: 2 }],
    ['invalid-repeat-penalty', 400, { ...base, repeatPenalty: 0 }],
    ['invalid-seed', 400, { ...base, seed: -1 }],
    ['invalid-stop', 400, { ...base, stop: [''] }],
    ['invalid-json-schema', 400, { ...base, jsonSchema: { type: 'nope' } }],
    ['unknown-model', 404, { ...base, model: '/etc/passwd' }],
  ])('complete rejects with %s (%i)', async (code, status, req) => {
    expect(await rejection(engine.complete(req))).toMatchObject({ status, code })
  })

  it.each([
    ['invalid-messages', []],
    ['invalid-messages', [{ role: 'wizard', content: 'x' }]],
    ['invalid-messages', [{ role: 'user', content: 7 }]],
    ['invalid-messages', [{ role: 'user' }]],
    ['invalid-messages', 'hi'],
    ['empty-prompt', [{ role: 'user', content: '' }]],
  ])('chat rejects with 400 %s', async (code, messages) => {
    expect(await rejection(engine.chat({ model: 'plain', messages: messages as never }))).toMatchObject({ status: 400, code })
  })

  it('rejects a prompt longer than the context with 413 prompt-too-long', async () => {
    const err = await rejection(engine.complete({ model: 'plain', prompt: 'x'.repeat(3000) }))
    expect(err).toMatchObject({ status: 413, code: 'prompt-too-long' })
  })
})
