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
    for (const hashpath of hashpaths) {
      const replayed = await runCli(['replay', hashpath, '--data', data.dir, ...flags])
      const report = JSON.parse(replayed.stdout) as { steps: number; verified: number; divergent: number }
      expect({ hashpath, code: replayed.code, divergent: report.divergent, verified: report.verified }).toEqual({ hashpath, code: 0, divergent: 0, verified: report.steps })
    }
  })
})
