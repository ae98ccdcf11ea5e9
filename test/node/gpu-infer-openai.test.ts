// The OpenAI surface as AI builders use it, through the official openai client against a real
// `hashbeam serve` process on a generated model: tokenize/detokenize, unknown routes, and (each
// answer being a recorded computation) `hashbeam replay` of every result to the same ID.
// One process and one model for the whole file keep it cheap.
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
  flags = ['--wallet', sharedWalletPath(), '--model', `tiny=${tiny}`, '--threads', '1', '--context-size', '512', '--batch-size', '256', '--no-demo-model']
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
    await expect(client().embeddings.create({ model: 'tiny', input: 'word '.repeat(600) })).rejects.toMatchObject({ status: 413, code: 'prompt-too-long', param: 'input' })
    const same = await client().embeddings.create({ model: 'tiny', input: 'x', dimensions: 64 })
    expect(same.data[0]?.embedding.length).toBe(64)
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
  it('re-derives every result of this file to the same ID', async () => {
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
