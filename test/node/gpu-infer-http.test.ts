// gpu-infer over HTTP: the HyperPATH keys, streaming, the OpenAI surface through the official
// openai client, every bad input's 4xx, a full queue's 503, and cancellation on disconnect.
// Real llama.cpp on a model our generator writes at test time.
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Message } from '../../core/types.js'
import { listen, type RunningServer } from '../../node/server.js'
import { modelDir, type ModelDir } from '../devices/gpu-infer/fixtures.js'
import { testNode } from '../helpers/node.js'

let models: ModelDir
let node: Awaited<ReturnType<typeof testNode>>
let server: RunningServer
const JSON_ACCEPT = { accept: 'application/json' }

beforeAll(async () => {
  models = await modelDir()
  const tiny = await models.make('tiny', { size: 'tiny', seed: 3, chatTemplate: true })
  const plain = await models.make('plain', { size: 'tiny', seed: 4, chatTemplate: false })
  node = await testNode({ config: { models: { tiny, plain }, threads: 1, contextSize: 512, batchSize: 256, maxQueue: 0, maxTokensCap: 256 } })
  server = await listen(node, 0, '127.0.0.1')
})
afterAll(async () => {
  await server.close()
  await models.cleanup()
})

const get = async (path: string, init?: RequestInit) => {
  const res = await node.app.request(path, { ...init, headers: { ...JSON_ACCEPT, ...(init?.headers as Record<string, string>) } })
  return { res, body: (await res.json()) as Record<string, any> }
}

describe('gpu-infer: HyperPATH keys', () => {
  it('/~gpu-infer/run&prompt=hello works, with hashpath, ao-id and timing headers', async () => {
    const { res, body } = await get('/~gpu-infer/run&model=tiny&prompt=hello&max-tokens+integer=8')
    expect(res.status).toBe(200)
    expect(body).toMatchObject({ output: expect.any(String), 'finish-reason': expect.stringMatching(/stop|length/) })
    expect(res.headers.get('hashpath')).toMatch(/^[A-Za-z0-9_-]{43}\/[A-Za-z0-9_-]{43}$/)
    expect(res.headers.get('hashbeam-timing-total-ms')).toMatch(/^\d/)
    const again = await get('/~gpu-infer/run&model=tiny&prompt=hello&max-tokens+integer=8')
    expect([again.res.headers.get('ao-id'), again.res.headers.get('ao-cache')]).toEqual([res.headers.get('ao-id'), 'hit'])
  })
  it('no-cache recomputes and finds the same result (no mismatch flag)', async () => {
    const path = '/~gpu-infer/run&model=tiny&prompt=again&max-tokens+integer=6'
    const first = await get(path)
    const second = await get(path, { headers: { 'cache-control': 'no-cache' } })
    expect(second.res.headers.get('ao-cache')).toBe('miss')
    expect(second.res.headers.get('ao-id')).toBe(first.res.headers.get('ao-id'))
    expect(second.res.headers.get('hashbeam-cache-mismatch')).toBeNull()
  })
  it('chat takes messages from a JSON body, with and without a chat template', async () => {
    for (const model of ['tiny', 'plain']) {
      const { res, body } = await get('/~gpu-infer@1.0/chat', {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], 'max-tokens': 6 }),
      })
      expect(res.status).toBe(200)
      expect(body.usage['completion-tokens']).toBeLessThanOrEqual(6)
    }
  })
  it('max-tokens is honoured; a stop sequence ends the output before it', async () => {
    const long = (await get('/~gpu-infer/run&model=tiny&prompt=abc&max-tokens+integer=24')).body
    expect(long.usage['completion-tokens']).toBeLessThanOrEqual(24)
    const text = String(long.output)
    const stop = text.slice(3, 5)
    expect(stop.length).toBe(2)
    const stopped = (await get(`/~gpu-infer/run&model=tiny&prompt=abc&max-tokens+integer=24&stop=${encodeURIComponent(stop)}`)).body
    expect(stopped['finish-reason']).toBe('stop')
    expect(String(stopped.output)).toBe(text.slice(0, text.indexOf(stop)))
  })
  it('json-schema output parses and matches the schema, even on a random model', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string' }, count: { type: 'integer' } }, required: ['name', 'count'], additionalProperties: false }
    const { res, body } = await get('/~gpu-infer/run', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: 'json:', 'json-schema': JSON.stringify(schema), 'max-tokens': 200 }),
    })
    expect(res.status).toBe(200)
    const parsed = JSON.parse(String(body.output)) as Record<string, unknown>
    expect(Object.keys(parsed).sort()).toEqual(['count', 'name'])
    expect([typeof parsed.name, Number.isInteger(parsed.count)]).toEqual(['string', true])
  })
  it('streams tokens as SSE; the final event carries the same hashpath and ID as a plain request', async () => {
    const plain = await get('/~gpu-infer/run&model=tiny&prompt=stream%20me&max-tokens+integer=10')
    const res = await fetch(`${server.url}/~gpu-infer/run&model=tiny&prompt=stream%20me&max-tokens+integer=10&stream=true`, { headers: { 'cache-control': 'no-cache' } })
    const text = await res.text()
    const events = text.trim().split('\n\n').map((frame) => ({ event: /event: (.*)/.exec(frame)?.[1], data: JSON.parse(/data: (.*)/.exec(frame)?.[1] ?? 'null') }))
    const tokens = events.filter((e) => e.event === 'token').map((e) => e.data.text as string)
    const result = events.find((e) => e.event === 'result')?.data
    expect(tokens.join('')).toBe(plain.body.output)
    expect(result).toMatchObject({ hashpath: plain.res.headers.get('hashpath'), id: plain.res.headers.get('ao-id') })
  })
})

describe('gpu-infer: the OpenAI surface with the official openai client', () => {
  const client = () => new OpenAI({ baseURL: `${server.url}/~gpu-infer@1.0/v1`, apiKey: 'unused', maxRetries: 0 })

  it('completes a chat', async () => {
    const done = await client().chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 })
    expect(done.choices[0]?.message.content).toEqual(expect.any(String))
    expect(done.usage?.completion_tokens).toBeLessThanOrEqual(8)
    expect(done.system_fingerprint).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
  it('streams a chat; the pieces add up to the non-streamed answer', async () => {
    const params = { model: 'tiny', messages: [{ role: 'user' as const, content: 'count' }], max_tokens: 10 }
    const whole = await client().chat.completions.create(params)
    const stream = await client().chat.completions.create({ ...params, stream: true })
    let text = ''
    let finish: string | null | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(text).toBe(whole.choices[0]?.message.content)
    expect(finish).toBe(whole.choices[0]?.finish_reason)
  })
  it('completions and models work; the result carries hashpath and ao-id headers', async () => {
    const { data, response } = await client().completions.create({ model: 'tiny', prompt: 'once upon', max_tokens: 6 }).withResponse()
    expect(data.choices[0]?.text).toEqual(expect.any(String))
    expect(response.headers.get('hashpath')).toBeTruthy()
    const list = await client().models.list()
    expect(list.data.map((m) => m.id).sort()).toEqual(['plain', 'tiny'])
  })
  it('errors come back in OpenAI shape: unknown model is a NotFoundError', async () => {
    await expect(client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404, code: 'unknown-model' })
    await expect(client().chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }], n: 99 })).rejects.toMatchObject({ status: 400, code: 'invalid-n', param: 'n' })
  })
})

describe('gpu-infer: bad input gets a clear 4xx and the node keeps serving', () => {
  const longPrompt = 'word '.repeat(2000)
  const cases: Array<[string, string, RequestInit | undefined, number, string]> = [
    ['empty prompt', '/~gpu-infer/run&model=tiny&prompt=', undefined, 400, 'empty-prompt'],
    ['no prompt', '/~gpu-infer/run&model=tiny', undefined, 400, 'invalid-prompt'],
    ['prompt longer than the context', '/~gpu-infer/run', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', prompt: longPrompt }) }, 413, 'prompt-too-long'],
    ['max-tokens 0', '/~gpu-infer/run&model=tiny&prompt=x&max-tokens+integer=0', undefined, 400, 'invalid-max-tokens'],
    ['max-tokens over the cap', '/~gpu-infer/run&model=tiny&prompt=x&max-tokens+integer=100000', undefined, 400, 'invalid-max-tokens'],
    ['negative temperature', '/~gpu-infer/run&model=tiny&prompt=x&temperature+float=-1', undefined, 400, 'invalid-temperature'],
    ['NaN temperature', '/~gpu-infer/run&model=tiny&prompt=x&temperature=NaN', undefined, 400, 'invalid-temperature'],
    ['invalid schema', '/~gpu-infer/run&model=tiny&prompt=x&json-schema=%7Bnope', undefined, 400, 'invalid-json-schema'],
    ['unknown model', '/~gpu-infer/run&model=nope&prompt=x', undefined, 404, 'unknown-model'],
    ['a path as model', '/~gpu-infer/run&model=%2Fetc%2Fpasswd&prompt=x', undefined, 404, 'unknown-model'],
    ['malformed messages', '/~gpu-infer/chat&model=tiny&messages=%5B1%5D', undefined, 400, 'invalid-messages'],
    ['a bad role', '/~gpu-infer/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', messages: [{ role: 'wizard', content: 'x' }] }) }, 400, 'invalid-messages'],
  ]
  it.each(cases)('%s', async (_name, path, init, status, code) => {
    const { res, body } = await get(path, init)
    expect({ status: res.status, code: body.code }).toEqual({ status, code })
    expect((await get('/~gpu-infer/run&model=tiny&prompt=ok&max-tokens+integer=2')).res.status).toBe(200)
  })
})

describe('gpu-infer: load and cancellation', () => {
  it('a full queue answers 503 with retry-after', async () => {
    const long = (i: number) => node.app.request(`/~gpu-infer/run&model=tiny&prompt=busy${i}&max-tokens+integer=200&stop=zzzzzz`, { headers: JSON_ACCEPT })
    const answers = await Promise.all([long(1), long(2), long(3)])
    const busy = answers.filter((r) => r.status === 503)
    expect(busy.length).toBeGreaterThan(0)
    expect(busy[0]?.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(((await busy[0]?.json()) as Message).code).toBe('queue-full')
  })
  it('a client that disconnects cancels generation and frees the model', async () => {
    const controller = new AbortController()
    const res = await fetch(`${server.url}/~gpu-infer/run&model=tiny&prompt=endless&max-tokens+integer=256&stream=true`, { signal: controller.signal })
    const reader = res.body?.getReader()
    await reader?.read()
    controller.abort()
    const deadline = Date.now() + 10_000
    const infer = () => node.app.request('/~gpu-infer/run&model=tiny&prompt=next&max-tokens+integer=2', { headers: JSON_ACCEPT })
    let next = await infer()
    while (next.status === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
      next = await infer()
    }
    expect(next.status).toBe(200)
    expect(node.logs.some((e) => (e.obj as Record<string, unknown>).code === 'request-aborted')).toBe(true)
  })
})
