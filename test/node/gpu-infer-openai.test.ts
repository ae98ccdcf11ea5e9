// The OpenAI surface as AI builders use it, through the official openai client against a real
// `hashbeam serve` process on a generated model: tokenize/detokenize, unknown routes, and (each
// answer being a recorded computation) `hashbeam replay` of every result to the same ID.
// One process and one model for the whole file keep it cheap.
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions'
import { CHATML_TOOLS_TEMPLATE } from '../../devices/gpu-infer/index.js'
import { modelDir, type ModelDir } from '../devices/gpu-infer/fixtures.js'
import { sharedWalletPath, tempDir } from '../helpers/node.js'
import { runCli, startServer, type ServerProcess } from '../helpers/process.js'

let models: ModelDir
let server: ServerProcess
let flags: string[] = []
const data = tempDir()
/** Every result this file produced: replayed at the end. */
const hashpaths = new Set<string>()

beforeAll(async () => {
  models = await modelDir()
  const tiny = await models.make('tiny', { size: 'tiny', seed: 19, chatTemplate: true })
  const agent = await models.make('agent', { size: 'tiny', seed: 20, chatTemplate: CHATML_TOOLS_TEMPLATE })
  flags = ['--wallet', sharedWalletPath(), '--model', `tiny=${tiny}`, '--model', `agent=${agent}`, '--threads', '1', '--context-size', '2048', '--batch-size', '512', '--no-demo-model']
  server = await startServer(['--data', data.dir, ...flags])
})
afterAll(async () => {
  await server.stop()
  data.cleanup()
  await models.cleanup()
})

const v1 = () => `${server.url}/~gpu-infer@1.0/v1`
const client = () => new OpenAI({ baseURL: v1(), apiKey: 'unused', maxRetries: 0 })
const post = async (route: string, body: unknown) => {
  const res = await fetch(`${v1()}/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const hashpath = res.headers.get('hashpath')
  if (hashpath !== null) hashpaths.add(hashpath)
  return { res, body: (await res.json()) as Record<string, any> }
}

describe('tokenize and detokenize (llama-server shapes under v1/, and the path form)', () => {
  it('tokenize → detokenize gives the text back; with_pieces names each token', async () => {
    const text = 'hello world <|im_end|>'
    const tok = await post('tokenize', { model: 'tiny', content: text })
    expect(tok.res.status).toBe(200)
    expect(tok.body.tokens.every((t: unknown) => Number.isInteger(t))).toBe(true)
    // parse_special (default true) makes the ChatML marker one control token.
    const plain = await post('tokenize', { model: 'tiny', content: text, parse_special: false })
    expect(plain.body.tokens.length).toBeGreaterThan(tok.body.tokens.length)
    const back = await post('detokenize', { model: 'tiny', tokens: tok.body.tokens })
    expect(back.body.content.trim()).toBe(text)
    const pieces = await post('tokenize', { model: 'tiny', content: 'hi', with_pieces: true, add_special: true })
    expect(pieces.body.tokens[0]).toEqual({ id: 1, piece: '<s>' })
    expect(pieces.body.tokens.slice(1).map((t: { piece: string }) => t.piece).join('').trim()).toBe('hi')
    const path = await fetch(`${server.url}/~gpu-infer@1.0/tokenize&model=tiny&content=hello%20world%20%3C%7Cim_end%7C%3E`, { headers: { accept: 'application/json' } })
    expect(((await path.json()) as { tokens: number[] }).tokens).toEqual(tok.body.tokens)
  })
  it('refuses bad input in OpenAI shape, naming the parameter; an id past the vocabulary never reaches llama.cpp', async () => {
    const cases: Array<[string, unknown, string, string]> = [
      ['tokenize', { model: 'tiny', content: 5 }, 'invalid-content', 'content'],
      ['tokenize', { model: 'tiny', content: 'x'.repeat(300 * 1024) }, 'content-too-long', 'content'],
      ['tokenize', { model: 'tiny', content: 'x', add_special: 'yes' }, 'invalid-request', 'add_special'],
      ['detokenize', { model: 'tiny', tokens: [1, 99999] }, 'invalid-tokens', 'tokens'],
      ['detokenize', { model: 'tiny', tokens: [-1] }, 'invalid-tokens', 'tokens'],
      ['detokenize', { model: 'tiny', tokens: 'abc' }, 'invalid-tokens', 'tokens'],
      ['detokenize', { model: 'nope', tokens: [1] }, 'unknown-model', 'model'],
    ]
    for (const [route, body, code, param] of cases) {
      const { res, body: err } = await post(route, body)
      expect({ route, status: res.status >= 400 && res.status < 500, code: err.error?.code, param: err.error?.param }).toEqual({ route, status: true, code, param })
    }
    expect((await post('detokenize', { model: 'tiny', tokens: [1] })).res.status).toBe(200) // still serving
  })
})

/** Remembers where an SDK answer was recorded (every choice of it). */
type Records = { hashbeam?: { hashpath?: string; choices?: Array<{ hashpath: string }> } }
function record(headers: Headers, body: object) {
  const hashpath = headers.get('hashpath')
  if (hashpath !== null) hashpaths.add(hashpath)
  for (const c of (body as Records).hashbeam?.choices ?? []) hashpaths.add(c.hashpath)
}
/** A streamed answer: the chunks, and its hashbeam records remembered. */
async function collect<T extends object>(stream: AsyncIterable<T>): Promise<T[]> {
  const chunks: T[] = []
  for await (const chunk of stream) {
    chunks.push(chunk)
    const records = (chunk as Records).hashbeam
    if (records?.hashpath !== undefined) hashpaths.add(records.hashpath)
    for (const c of records?.choices ?? []) hashpaths.add(c.hashpath)
  }
  return chunks
}
const NO_CACHE = { headers: { 'cache-control': 'no-cache' } }

describe('logprobs', () => {
  it('chat: each token with top_logprobs 3, from the step that chose it; streamed the same', async () => {
    const params = { model: 'tiny', messages: [{ role: 'user' as const, content: 'probabilities' }], max_tokens: 8, logprobs: true, top_logprobs: 3 }
    const { data, response } = await client().chat.completions.create(params).withResponse()
    record(response.headers, data)
    const content = data.choices[0]!.logprobs!.content!
    expect(content.length).toBe(data.usage?.completion_tokens)
    for (const t of content) {
      expect(t.top_logprobs.length).toBe(3)
      // Greedy: the chosen token is the most likely one, with the same logprob.
      expect([t.top_logprobs[0]!.token, t.top_logprobs[0]!.logprob]).toEqual([t.token, t.logprob])
      expect(t.top_logprobs.map((x) => x.logprob)).toEqual([...t.top_logprobs.map((x) => x.logprob)].sort((a, b) => b - a))
      expect(t.logprob).toBeLessThanOrEqual(0)
      expect(t.bytes).toEqual([...Buffer.from(t.token)])
    }
    const chunks = await collect(await client().chat.completions.create({ ...params, stream: true }, NO_CACHE))
    const streamed = chunks.flatMap((c) => c.choices[0]?.logprobs?.content ?? [])
    expect(streamed).toEqual(content)
  })
  it('completions: logprobs 2 as parallel arrays', async () => {
    const { data, response } = await client().completions.create({ model: 'tiny', prompt: 'once', max_tokens: 6, logprobs: 2 }).withResponse()
    record(response.headers, data)
    const lp = data.choices[0]!.logprobs!
    expect(lp.tokens!.length).toBe(data.usage?.completion_tokens)
    expect(lp.token_logprobs!.length).toBe(lp.tokens!.length)
    expect(lp.top_logprobs!.every((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 2)).toBe(true)
    expect(lp.text_offset![0]).toBe(0)
  })
  it('refuses more than 20 alternatives, and top_logprobs without logprobs', async () => {
    const msg = [{ role: 'user' as const, content: 'x' }]
    await expect(client().chat.completions.create({ model: 'tiny', messages: msg, logprobs: true, top_logprobs: 21 })).rejects.toMatchObject({ status: 400, code: 'invalid-logprobs', param: 'top_logprobs' })
    await expect(client().chat.completions.create({ model: 'tiny', messages: msg, top_logprobs: 2 })).rejects.toMatchObject({ status: 400, param: 'top_logprobs' })
    await expect(client().completions.create({ model: 'tiny', prompt: 'x', logprobs: 21 })).rejects.toMatchObject({ status: 400, param: 'logprobs' })
  })
})

describe('several choices (n)', () => {
  it('n 3: choice 0 is the n 1 answer, the others sample with their own seeds; each is recorded apart', async () => {
    const params = { model: 'tiny', messages: [{ role: 'user' as const, content: 'choose' }], max_tokens: 8, temperature: 1.2, seed: 7 }
    const { data, response } = await client().chat.completions.create({ ...params, n: 3 }).withResponse()
    record(response.headers, data)
    expect(data.choices.map((c) => c.index)).toEqual([0, 1, 2])
    const texts = data.choices.map((c) => c.message.content)
    expect(new Set(texts).size).toBeGreaterThan(1)
    const records = (data as unknown as { hashbeam: { choices: Array<{ hashpath: string }> } }).hashbeam.choices
    expect(new Set(records.map((r) => r.hashpath)).size).toBe(3)
    const one = await client().chat.completions.create(params)
    expect(one.choices[0]?.message.content).toBe(texts[0])
    const chunks = await collect(await client().chat.completions.create({ ...params, n: 3, stream: true }, NO_CACHE))
    const streamed = [0, 1, 2].map((i) => chunks.flatMap((c) => c.choices.filter((x) => x.index === i).map((x) => x.delta.content ?? '')).join(''))
    expect(streamed).toEqual(texts)
  })
  it('refuses n past --max-choices', async () => {
    await expect(client().completions.create({ model: 'tiny', prompt: 'x', n: 9 })).rejects.toMatchObject({ status: 400, code: 'invalid-n', param: 'n' })
  })
})

describe('embeddings', () => {
  it('a list of inputs: one unit vector each, equal texts equal bits, base64 the same floats; the path form agrees', async () => {
    const input = ['the llama', 'a different text', 'the llama']
    const { data, response } = await client().embeddings.create({ model: 'tiny', input, encoding_format: 'float' }).withResponse()
    record(response.headers, data)
    expect(data.data.map((d) => d.index)).toEqual([0, 1, 2])
    const [a, b, c] = data.data.map((d) => d.embedding)
    expect(a!.length).toBe(64) // the tiny model's embedding length
    for (const v of [a!, b!]) expect(Math.hypot(...v)).toBeCloseTo(1, 6)
    expect(c).toEqual(a)
    expect(b).not.toEqual(a)
    expect(data.usage.prompt_tokens).toBeGreaterThan(3)
    // The SDK decodes base64 (float32 little-endian) itself when it asked for it.
    const raw = await post('embeddings', { model: 'tiny', input, encoding_format: 'base64' })
    const bytes = Buffer.from(raw.body.data[1].embedding as string, 'base64')
    const decoded = [...new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)]
    expect(decoded).toEqual(b!.map((x) => Math.fround(x)))
    const path = await fetch(`${server.url}/~gpu-infer@1.0/embed&model=tiny&input=the%20llama`, { headers: { accept: 'application/json' } })
    expect(((await path.json()) as { embeddings: number[][] }).embeddings[0]).toEqual(a)
  })
  it('refuses dimensions the model cannot give, and bad input, naming the parameter', async () => {
    await expect(client().embeddings.create({ model: 'tiny', input: 'x', dimensions: 32 })).rejects.toMatchObject({ status: 400, code: 'unsupported-parameter', param: 'dimensions' })
    await expect(client().embeddings.create({ model: 'tiny', input: [''] })).rejects.toMatchObject({ status: 400, code: 'invalid-input', param: 'input' })
    await expect(client().embeddings.create({ model: 'tiny', input: [[1, 2]] as unknown as string[] })).rejects.toMatchObject({ status: 400, param: 'input' })
    await expect(client().embeddings.create({ model: 'tiny', input: 'word '.repeat(3000) })).rejects.toMatchObject({ status: 413, code: 'prompt-too-long', param: 'input' })
    const same = await client().embeddings.create({ model: 'tiny', input: 'x', dimensions: 64 })
    expect(same.data[0]?.embedding.length).toBe(64)
  })
})

// The generated model has random weights: it never *wants* to call a function. A call is asked
// for with tool_choice required (or a named function), and grammar-constrained generation in the
// template's own call syntax makes it; `auto` leaves the choice to the model (here: text).
describe('tool calls', () => {
  const tools: ChatCompletionTool[] = [
    { type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 20 }, unit: { enum: ['C', 'F'] } }, required: ['city', 'unit'], additionalProperties: false } } },
    { type: 'function', function: { name: 'add', parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'] } } },
  ]
  const ask: ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }]

  it('round trip: a required call, the tool result sent back, a final answer; streamed the same', async () => {
    const params = { model: 'agent', messages: ask, tools, tool_choice: 'required' as const, max_tokens: 120, parallel_tool_calls: false }
    const { data, response } = await client().chat.completions.create(params).withResponse()
    record(response.headers, data)
    const choice = data.choices[0]!
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.content).toBeNull()
    const calls = choice.message.tool_calls!
    expect(calls).toHaveLength(1)
    const call = calls[0]! as { id: string; function: { name: string; arguments: string } }
    expect(['get_weather', 'add']).toContain(call.function.name)
    expect(typeof JSON.parse(call.function.arguments)).toBe('object')
    // Streamed (recomputed, not from the cache): the same calls, as deltas.
    const chunks = await collect(await client().chat.completions.create({ ...params, stream: true }, NO_CACHE))
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])
    expect(deltas.map((d) => ({ id: d.id, name: d.function?.name, arguments: d.function?.arguments }))).toEqual([{ id: call.id, name: call.function.name, arguments: call.function.arguments }])
    expect(chunks.at(-2)?.choices[0]?.finish_reason ?? chunks.flatMap((c) => c.choices).at(-1)?.finish_reason).toBe('tool_calls')
    // The follow-up: the assistant turn with its call and the tool's answer.
    const followUp = [...ask, choice.message, { role: 'tool' as const, tool_call_id: call.id, content: '{"temperature": 21}' }] as ChatCompletionMessageParam[]
    const final = await client().chat.completions.create({ model: 'agent', messages: followUp, tools, tool_choice: 'none', max_tokens: 12 }).withResponse()
    record(final.response.headers, final.data)
    expect(final.data.choices[0]?.finish_reason).toMatch(/stop|length/)
    expect(final.data.choices[0]?.message.content).toEqual(expect.any(String))
    expect(final.data.choices[0]?.message.tool_calls).toBeUndefined()
    const streamedFinal = await collect(await client().chat.completions.create({ model: 'agent', messages: followUp, tools, tool_choice: 'none', max_tokens: 12, stream: true }, NO_CACHE))
    expect(streamedFinal.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(final.data.choices[0]?.message.content)
    // auto: the random model writes text rather than the call syntax; that is its choice.
    const auto = await client().chat.completions.create({ model: 'agent', messages: ask, tools, max_tokens: 8 }).withResponse()
    record(auto.response.headers, auto.data)
    expect(auto.data.choices[0]?.finish_reason).toMatch(/stop|length|tool_calls/)
  })
  it('a named function is the one called; several calls when parallel calls are allowed', async () => {
    const named = await client().chat.completions.create({ model: 'agent', messages: ask, tools, tool_choice: { type: 'function', function: { name: 'add' } }, max_tokens: 120 }).withResponse()
    record(named.response.headers, named.data)
    const calls = named.data.choices[0]!.message.tool_calls! as Array<{ function: { name: string; arguments: string } }>
    expect(calls.map((c) => c.function.name)).toEqual(['add'])
    const args = JSON.parse(calls[0]!.function.arguments) as { a: number; b: number }
    expect([Number.isInteger(args.a), Number.isInteger(args.b)]).toEqual([true, true])
    const parallel = await client().chat.completions.create({ model: 'agent', messages: ask, tools, tool_choice: 'required', max_tokens: 400, temperature: 1, seed: 3 }).withResponse()
    record(parallel.response.headers, parallel.data)
    const many = parallel.data.choices[0]!.message.tool_calls! as Array<{ id: string; function: { arguments: string } }>
    expect(many.length).toBeGreaterThanOrEqual(1)
    expect(new Set(many.map((c) => c.id)).size).toBe(many.length)
    for (const c of many) expect(() => JSON.parse(c.function.arguments)).not.toThrow()
  })
  it('refuses clearly: no tool syntax in the template, bad tools, a choice naming no tool', async () => {
    const refused: Array<[Record<string, unknown>, string, string]> = [
      [{ model: 'tiny', tools }, 'tools-unsupported', 'tools'],
      [{ model: 'agent', tools: [{ type: 'function', function: { name: 'bad name!' } }] }, 'invalid-tools', 'tools[0].function.name'],
      [{ model: 'agent', tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'string' } } }] }, 'invalid-tools', 'tools[0].function.parameters'],
      [{ model: 'agent', tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { x: { pattern: 'a+' } } } } }] }, 'invalid-json-schema', 'tools[0].function.parameters'],
      [{ model: 'agent', tools, tool_choice: { type: 'function', function: { name: 'nope' } } }, 'invalid-tool-choice', 'tool_choice'],
      [{ model: 'agent', tool_choice: 'required' }, 'invalid-tool-choice', 'tool_choice'],
      [{ model: 'agent', tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { s: { enum: Array.from({ length: 3000 }, (_, i) => i) } } } } }] }, 'json-schema-too-complex', 'tools[0].function.parameters'],
    ]
    for (const [extra, code, param] of refused) {
      const { res, body } = await post('chat/completions', { messages: ask, max_tokens: 4, ...extra })
      expect({ status: res.status, code: body.error?.code, param: body.error?.param }).toEqual({ status: 400, code, param })
    }
    // A tool message answering no call is refused, naming messages.
    const orphan = await post('chat/completions', { model: 'agent', tools, messages: [...ask, { role: 'tool', tool_call_id: 'x', content: '1' }] })
    expect([orphan.res.status, orphan.body.error?.param]).toEqual([400, 'messages'])
  })
})

describe('unknown routes under v1/', () => {
  it('answer 404 in OpenAI error shape (the SDK sees a NotFoundError)', async () => {
    const res = await fetch(`${v1()}/audio/speech`, { method: 'POST', body: '{}' })
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ error: { type: 'not_found_error', code: 'unknown-route', param: null } })
    await expect(client().files.list()).rejects.toMatchObject({ status: 404, code: 'unknown-route' })
  })
})

describe('hashbeam replay', () => {
  it('re-derives every result of this file to the same ID (one replay process)', { timeout: 120_000 }, async () => {
    expect(hashpaths.size).toBeGreaterThan(0)
    await server.stop()
    const list = [...hashpaths]
    const replayed = await runCli(['replay', ...list, '--data', data.dir, ...flags])
    const reports = JSON.parse(replayed.stdout) as Array<{ hashpath: string; steps: number; verified: number; divergent: number }>
    expect(reports.map((r) => r.hashpath)).toEqual(list)
    for (const r of reports) expect({ hashpath: r.hashpath, divergent: r.divergent, verified: r.verified }).toEqual({ hashpath: r.hashpath, divergent: 0, verified: r.steps })
    expect(replayed.code).toBe(0)
  })
})
