/**
 * Issue 11, item 6: one request could hold the event loop. A JSON schema with a large `enum`
 * (well under the 10 MiB body limit) was compiled to a grammar on the event loop — seconds of
 * stall, growing faster than linearly — and a JSON body nested a few thousand levels deep was a
 * 500 (stack overflow) on the path route and on the OpenAI route.
 *
 * Now: schemas have size and complexity limits (400 `json-schema-too-large` /
 * `json-schema-too-complex`) and compile in a worker thread; JSON and CBOR bodies have a nesting
 * limit (400 `nesting-too-deep`), multipart bodies one on part names (400 `invalid-multipart`). Each case runs beside an event-loop probe.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkCborDepth, encodeCanonical, MAX_NESTING_DEPTH } from '../../core/codec.js'
import { isAoError } from '../../core/errors.js'
import { LIMITS } from '../../devices/gpu-infer/constants.js'
import { decodeHttpsigMessage, encodeMultipart } from '../../devices/httpsig/index.js'
import { MAX_PART_DEPTH } from '../../devices/httpsig/message-codec.js'
import { checkJsonDepth, fromJson } from '../../core/json.js'
import { modelDir, type ModelDir } from '../devices/gpu-infer/fixtures.js'
import { testNode } from '../helpers/node.js'
import { LOOP_DELAY_LIMIT_MS, STALL_LIMIT_MS, startProbe, underProbe, type ProbeReport } from './helpers/loop-probe.js'

let models: ModelDir
let node: Awaited<ReturnType<typeof testNode>>

beforeAll(async () => {
  models = await modelDir()
  const tiny = await models.make('tiny', { size: 'tiny', seed: 5, chatTemplate: true })
  node = await testNode({ config: { models: { tiny }, threads: 1, contextSize: 512, batchSize: 256, gpu: false } })
  // Warm llama.cpp up, so no test measures its one-time start.
  expect((await node.app.request('/~gpu-infer@1.0/run&model=tiny&prompt=hi&max-tokens+integer=1')).status).toBe(200)
})
afterAll(async () => {
  await node?.stop()
  await models?.cleanup()
})

const probe = () => startProbe(async (signal) => node.app.request('/~meta@1.0/info/address', { signal }), { inProcess: true })
const post = async (path: string, body: unknown, type = 'application/json'): Promise<Response> =>
  node.app.request(path, {
    method: 'POST', body: (type === 'application/json' ? JSON.stringify(body) : body) as BodyInit,
    headers: { 'content-type': type, accept: 'application/json' },
  })
const outcome = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { code?: string; error?: { code?: string } }).code ?? undefined })
const openAiCode = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error?: { code?: string } }).error?.code })

function expectResponsive(report: ProbeReport): void {
  if (process.env.HASHBEAM_PROBE_LOG !== undefined) console.info(expect.getState().currentTestName, report)
  expect(report.failures).toEqual([])
  expect(report.worstMs, JSON.stringify(report)).toBeLessThan(STALL_LIMIT_MS)
  expect(report.loopDelayMaxMs ?? 0, JSON.stringify(report)).toBeLessThan(LOOP_DELAY_LIMIT_MS)
}

/** `{a: {a: … {a: leaf}}}`, `depth` objects deep, built without recursion. */
function nested(depth: number, leaf: unknown = 1): unknown {
  let value = leaf
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}

/** The JSON text of `nested(depth, leaf)`, written without JSON.stringify (which recurses). */
const nestedText = (depth: number, leaf = '1') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`
const RAW_JSON = 'application/json; charset=utf-8' // post() sends a string body as it is

/** A chat request whose answer must follow `schema`. */
const chatWithSchema = (schema: unknown) => ({
  model: 'tiny', max_tokens: 48, messages: [{ role: 'user', content: 'pick one' }],
  response_format: { type: 'json_schema', json_schema: { name: 'pick', schema } },
})

describe('JSON schemas: bounded, compiled off the event loop', () => {
  it('a schema with a 150 000-value enum (1.5 MB, under the body limit) is refused at once; the loop keeps answering', async () => {
    const schema = { type: 'object', properties: { pick: { enum: Array.from({ length: 150_000 }, (_, i) => `v${i}`) } }, required: ['pick'] }
    // Bodies are serialized before probing: this process's own work would count as a stall.
    const openAiBody = JSON.stringify(chatWithSchema(schema))
    // On the path route, as JSON text (as the OpenAI route passes it on); a structured schema
    // past the limit is refused too (below), but its body costs more to hash than this test measures.
    const pathBody = JSON.stringify({ model: 'tiny', prompt: 'x', 'json-schema': JSON.stringify(schema) })
    const { result, report } = await underProbe(probe(), () => post('/~gpu-infer@1.0/v1/chat/completions', openAiBody, 'application/json; charset=utf-8'))
    expect(await openAiCode(result)).toEqual({ status: 400, code: 'json-schema-too-large' })
    expectResponsive(report)
    const path = await underProbe(probe(), () => post('/~gpu-infer@1.0/run', pathBody, 'application/json; charset=utf-8'))
    expect(await outcome(path.result)).toEqual({ status: 400, code: 'json-schema-too-large' })
    expectResponsive(path.report)
  })

  it('a structured schema (a map in a JSON body) past the size limit is refused too', async () => {
    const schema = { enum: Array.from({ length: 10_000 }, (_, i) => `value-${i}`) }
    expect(await outcome(await post('/~gpu-infer@1.0/run', { model: 'tiny', prompt: 'x', 'json-schema': schema }))).toEqual({ status: 400, code: 'json-schema-too-large' })
  })

  it('more enum values or sub-schemas than the limits, even in a small schema, are 400 json-schema-too-complex', async () => {
    const manyValues = { enum: Array.from({ length: LIMITS.maxSchemaEnumValues + 1 }, (_, i) => i) }
    const properties = Object.fromEntries(Array.from({ length: LIMITS.maxSchemaNodes }, (_, i) => [`p${i}`, { type: 'integer' }]))
    for (const schema of [manyValues, { type: 'object', properties }]) {
      expect(JSON.stringify(schema).length).toBeLessThan(LIMITS.maxSchemaBytes)
      const res = await post('/~gpu-infer@1.0/v1/chat/completions', chatWithSchema(schema))
      expect(await openAiCode(res)).toEqual({ status: 400, code: 'json-schema-too-complex' })
    }
  })

  it('the largest schema within the limits compiles in the worker and constrains the answer, without stalling the loop', async () => {
    const values = Array.from({ length: LIMITS.maxSchemaEnumValues }, (_, i) => `value-${i}`)
    const schema = { type: 'object', properties: { pick: { enum: values } }, required: ['pick'] }
    const body = JSON.stringify(chatWithSchema(schema))
    const { result, report } = await underProbe(probe(), () => post('/~gpu-infer@1.0/v1/chat/completions', body, 'application/json; charset=utf-8'))
    expect(result.status).toBe(200)
    const answer = (await result.json()) as { choices: Array<{ message: { content: string }; finish_reason: string }> }
    const choice = answer.choices[0]!
    if (choice.finish_reason === 'stop') expect(values).toContain((JSON.parse(choice.message.content) as { pick: string }).pick)
    expectResponsive(report)
  })
})

describe('nesting: a depth limit wherever a body is parsed', () => {
  it(`JSON on the path route: ${MAX_NESTING_DEPTH} levels are fine, one more is 400 nesting-too-deep, 5000 too (not a 500)`, async () => {
    const ok = await post('/~message@1.0/set/a', { a: nested(MAX_NESTING_DEPTH - 2) })
    expect(ok.status).toBe(200)
    expect(await outcome(await post('/~message@1.0/set/a', { a: nested(MAX_NESTING_DEPTH) }))).toEqual({ status: 400, code: 'nesting-too-deep' })
    const deep = nestedText(5_000)
    const { result, report } = await underProbe(probe(), () => post('/~message@1.0/set/a', deep, RAW_JSON))
    expect(await outcome(result)).toEqual({ status: 400, code: 'nesting-too-deep' })
    expectResponsive(report)
    const lists = '['.repeat(100_000) + ']'.repeat(100_000) // JSON.parse copes; every walk after it would not
    expect(await outcome(await post('/~message@1.0/set/a', `{"a":${lists}}`, RAW_JSON))).toEqual({ status: 400, code: 'nesting-too-deep' })
  })

  it('JSON on the OpenAI route: deep messages and a deep schema are 400 nesting-too-deep, not a 500', async () => {
    const deepMessage = `{"model":"tiny","max_tokens":2,"messages":[{"role":"user","content":"hi","name":${nestedText(5_000)}}]}`
    expect(await openAiCode(await post('/~gpu-infer@1.0/v1/chat/completions', deepMessage, RAW_JSON))).toEqual({ status: 400, code: 'nesting-too-deep' })
    const schema = nestedText(20_000, '{"type":"string"}')
    const deepSchema = `{"model":"tiny","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${schema}}}}`
    expect(await openAiCode(await post('/~gpu-infer@1.0/v1/chat/completions', deepSchema, RAW_JSON))).toEqual({ status: 400, code: 'nesting-too-deep' })
  })

  it('CBOR bodies: refused before decoding past the limit (the decoder recurses too)', async () => {
    const deepCbor = (depth: number) => {
      const bytes = new Uint8Array(3 + depth + 1)
      bytes.set([0xa1, 0x61, 0x61]) // {"a": …
      bytes.fill(0x81, 3, 3 + depth) // [[[[…
      bytes[3 + depth] = 0x01
      return bytes
    }
    const ok = await post('/~message@1.0/set/a', deepCbor(MAX_NESTING_DEPTH - 1), 'application/cbor')
    expect(ok.status).toBe(200)
    for (const depth of [MAX_NESTING_DEPTH, 4_000, 200_000]) {
      expect(await outcome(await post('/~message@1.0/set/a', deepCbor(depth), 'application/cbor'))).toEqual({ status: 400, code: 'nesting-too-deep' })
    }
    // Bytes inside a CBOR body stay bytes.
    const res = await post('/~message@1.0/set/b', encodeCanonical({ b: new Uint8Array([1, 2, 3]) }), 'application/cbor')
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('multipart (httpsig) bodies: a part path deeper than the limit is refused', () => {
    // Every level is a part of its own (a, a/a, a/a/a, …), as the encoder writes nested messages.
    const parts = (levels: number) => Array.from({ length: levels }, (_, i) => ({
      name: Array.from({ length: i + 1 }, () => 'a').join('/'), fields: [], body: new TextEncoder().encode(i === levels - 1 ? 'x' : ''),
    }))
    const decode = (levels: number) => {
      const { body, boundary } = encodeMultipart(parts(levels))
      return decodeHttpsigMessage([['content-type', `multipart/form-data; boundary="${boundary}"`]], body)
    }
    expect(() => decode(MAX_PART_DEPTH)).not.toThrow()
    expect(() => decode(MAX_PART_DEPTH + 1)).toThrow(expect.objectContaining({ status: 400, code: 'invalid-multipart' }))
  })

  it('structured-field values (+list, +map) cannot nest: deep brackets are a 400', async () => {
    const res = await node.app.request(`/~message@1.0&x+list=${'('.repeat(200)}1${')'.repeat(200)}/x`)
    expect(res.status).toBe(400)
  })
})

describe('the depth checks agree with the data (properties)', () => {
  const depthOf = (v: unknown): number =>
    typeof v === 'object' && v !== null && !(v instanceof Uint8Array) ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0
  const tree = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.integer(), fc.string(), fc.uint8Array({ maxLength: 4 }),
      fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 3 }), tie('node'), { maxKeys: 3 })),
  })).node

  it('checkCborDepth throws exactly when the encoded value nests deeper than the limit', () => {
    fc.assert(fc.property(tree, fc.integer({ min: 0, max: 6 }), (value, limit) => {
      const bytes = encodeCanonical(value)
      let threw = false
      try {
        checkCborDepth(bytes, limit)
      } catch (err) {
        threw = true
        expect(isAoError(err) && err.code).toBe('nesting-too-deep')
      }
      expect(threw).toBe(depthOf(value) > limit)
    }), { numRuns: 300 })
  })

  it('checkJsonDepth throws exactly past the limit, as fromJson does at its own', () => {
    fc.assert(fc.property(tree, fc.integer({ min: 0, max: 6 }), (value, limit) => {
      const json = JSON.parse(JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v))) as unknown
      let threw = false
      try {
        checkJsonDepth(json, 'x', limit)
      } catch (err) {
        threw = true
        expect(isAoError(err) && err.code).toBe('nesting-too-deep')
      }
      expect(threw).toBe(depthOf(json) > limit)
    }), { numRuns: 300 })
    expect(() => fromJson(nested(MAX_NESTING_DEPTH + 1))).toThrow(expect.objectContaining({ code: 'nesting-too-deep' }))
    expect(() => fromJson(nested(MAX_NESTING_DEPTH))).not.toThrow()
  })

  it('the CBOR scan never throws anything but nesting-too-deep, whatever the bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), fc.integer({ min: 0, max: 4 }), (bytes, limit) => {
      try {
        checkCborDepth(bytes, limit)
      } catch (err) {
        expect(isAoError(err) && err.code).toBe('nesting-too-deep')
      }
    }), { numRuns: 1000 })
  })
})
