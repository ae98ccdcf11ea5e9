/**
 * The attacker script's corpus: one table of hostile requests, each with what the node must
 * answer. Add a category by adding rows; test/security/attacker.test.ts runs every row against a
 * live node and checks, beside each row's own expectation, that nothing is a 5xx, nothing
 * crashes the node, and a health probe keeps answering within a second.
 *
 * Expectations: `refused` — a 4xx (optionally with a stable code, or a set of statuses; `orCutOff` when
 * the node may close the connection instead, e.g. on a body it will not read);
 * `answered` — anything below 500 (odd but legal input); `cutOff` — the node closes the
 * connection (a 408/400 first is fine).
 */
import { decodeCanonical, encodeCanonical } from '../../../core/codec.js'
import { buildDataItem } from '../../../devices/ans104/index.js'
import { generateGguf } from '../../../devices/gpu-infer/gguf.js'
import { ggufChunks } from '../../../devices/gpu-infer/gguf-writer.js'
import { SIGNATURE_TAG, signRequest } from '../../../devices/httpsig/index.js'
import { operatorRequest } from '../../../node/cli-config.js'
import { fromJson, toJson } from '../../../core/json.js'
import type { Wallet } from '../../../identity/keys.js'
import { expect } from 'vitest'
import { idOf } from '../../../core/id.js'
import { CAR_CONTENT_TYPE } from '../../../devices/replay/index.js'
import { walletAddress } from '../../../identity/keys.js'
import { signPrivileged } from '../../helpers/operator.js'
import { alteredCar, forgedBalanceCar } from './forged-car.js'
import type { RawResponse, RawSpec } from './raw-http.js'

/**
 * The body limit the attacker's node runs with. Every message of a chain holds a body's keys,
 * and each is encoded and hashed, so a body costs main-thread time in proportion to its size
 * (docs/security.md gives the measured cost per MiB); 1 MiB keeps a body at the limit well
 * inside the probe's bound on a loaded machine. The default (10 MiB) is measured there too.
 */
export const BODY_LIMIT = 1024 * 1024

export type Expectation =
  | { readonly refused: true; readonly status?: number | readonly number[]; readonly code?: string; readonly orCutOff?: boolean }
  | { readonly answered: true; readonly check?: (res: RawResponse) => void }
  | { readonly cutOff: true }

/**
 * What a row may use: the live node's address, a stranger's wallet, a way to store a blob, and
 * the node's own wallet — its default operator — to make the genuine operator requests that
 * forgeries then re-use (an attacker never holds it).
 */
export interface AttackContext {
  readonly baseUrl: string
  readonly address: string
  readonly stranger: Wallet
  readonly operator: Wallet
  put(bytes: Uint8Array, type?: string): Promise<string>
}

export interface Hostile {
  readonly category: string
  readonly name: string
  readonly expect: Expectation
  build(ctx: AttackContext): RawSpec | Promise<RawSpec>
}

const refused = (code?: string, status?: number | readonly number[]): Expectation =>
  ({ refused: true, ...(code === undefined ? {} : { code }), ...(status === undefined ? {} : { status }) })
const answered: Expectation = { answered: true }
const cutOff: Expectation = { cutOff: true }

const get = (target: string, headers: Array<[string, string]> = []): RawSpec => ({ target, headers })
const post = (target: string, body: Uint8Array | string, type: string, headers: Array<[string, string]> = []): RawSpec =>
  ({ method: 'POST', target, body, headers: [['content-type', type], ...headers] })
const json = (target: string, body: string) => post(target, body, 'application/json')
const row = (category: string, name: string, expect: Expectation, build: Hostile['build']): Hostile => ({ category, name, expect, build })

const deepJson = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
const deepCbor = (depth: number) => Buffer.concat([Buffer.from([0xa1, 0x61, 0x61]), Buffer.alloc(depth, 0x81), Buffer.from([0x01])])
const chat = (extra: string) => `{"model":"tiny","max_tokens":2,"messages":[{"role":"user","content":"hi"}]${extra}}`
const schemaChat = (schema: string) => chat(`,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${schema}}}`)
const tinyModel = generateGguf({ size: 'tiny', seed: 77 })
const run = (sha256: string) => get(`/~gpu-infer@1.0/run&model=${sha256}&prompt=hi&max-tokens+integer=2`)
const withByte = (bytes: Uint8Array, at: number, value: number) => { const copy = bytes.slice(); copy[at] = value; return copy }

/** A request signed by `wallet` (RFC 9421, as aoconnect signs), optionally spoiled after signing. */
function signed(wallet: Wallet, method: string, target: string, fields: Record<string, string>, spoil?: (h: Record<string, string>) => void): RawSpec {
  const { headers } = signRequest(wallet, { method, url: target, headers: fields })
  spoil?.(headers)
  return { method, target, headers: Object.entries(headers), ...(method === 'POST' ? { body: '' } : {}) }
}

/** A fetch-style request as raw HTTP, optionally sent to another target. */
function asRaw(url: string, init: RequestInit, target = new URL(url).pathname + new URL(url).search): RawSpec {
  const body = init.body === undefined || init.body === null ? undefined : Buffer.from(init.body as Uint8Array)
  return { method: init.method ?? 'GET', target, headers: Object.entries(init.headers as Record<string, string>), ...(body === undefined ? {} : { body }) }
}

/** A genuine operator request (as `hashbeam config set` makes it), already used once. */
async function spentOperatorRequest(ctx: AttackContext, value: string): Promise<{ url: string; init: RequestInit }> {
  const req = operatorRequest(ctx.operator, ctx.baseUrl, 'description', value)
  const res = await fetch(req.url, req.init)
  if (res.status !== 200) throw new Error(`the genuine operator request failed: ${res.status} ${await res.text()}`)
  return req
}

/** A CAR import signed by `wallet` over this request (the operator's own key needs the CLI's tag). */
function signedImport(ctx: AttackContext, wallet: Wallet, car: Uint8Array): RawSpec {
  const url = `${ctx.baseUrl}/~replay@1.0/import`
  const params: Record<string, string | number> = { created: Math.floor(Date.now() / 1000) }
  if (wallet === ctx.operator) params.tag = SIGNATURE_TAG.operator
  return asRaw(url, signPrivileged(wallet, { url, headers: { 'content-type': CAR_CONTENT_TYPE }, body: car }, { params }))
}

/** The forged balance (`balance=7777` answering 1000000), signed by the stranger: made once. */
let forgery: ReturnType<typeof forgedBalanceCar> | undefined
const forged = (ctx: AttackContext) => (forgery ??= forgedBalanceCar(ctx.stranger, '1000000', '7777'))
const CHAIN_PATH = '/~message@1.0&car=1/set&b=2/set&c=3/c'
const flipLast = (bytes: Uint8Array): Uint8Array => { const copy = bytes.slice(); copy[copy.length - 1]! ^= 1; return copy }

export const CORPUS: readonly Hostile[] = [
  // --- malformed paths ---------------------------------------------------------------------------
  ...([
    ['traversal', '/..%2f..%2f..%2fetc%2fpasswd', refused(undefined, 400)], ['NUL byte in a value', '/~message@1.0&a=%00/a', answered],
    ['bad percent', '/~message@1.0&a=%ZZ/a', refused(undefined, 400)], ['lone tilde', '/~', refused(undefined, 400)],
    ['empty device', '/~@1.0/x', refused(undefined, 400)], ['unknown device', '/~no-such-device@9.9/x', refused('unknown-device', 404)],
    ['bad device name', '/~DEV!CE@1.0/x', refused(undefined, 400)], ['open parens', '/((((((', refused('unbalanced-parentheses', 400)],
    ['close paren', '/)', refused('unbalanced-parentheses', 400)], ['empty sub-path', '/~message@1.0&a=()/a', refused(undefined, 400)],
    ['unknown ID', `/${'A'.repeat(43)}/x`, refused(undefined, 404)], ['garbage CID', '/bafyreigarbagegarbagegarbage/x', refused(undefined, 404)],
    ['bad UTF-8 escape', '/~message@1.0&%ff%fe=1/x', refused(undefined, 400)], ['empty key', '/~message@1.0&=1/x', refused(undefined, 400)],
    ['ampersands', '/~message@1.0&&&&/x', refused(undefined, 404)], ['get without key', '/~message@1.0/get', refused('missing-key', 422)],
    ['absolute-form target', 'http://evil.example/~message@1.0&a=1/a', answered], ['asterisk target', '*', refused(undefined, 400)],
    ['scoped key out of range', '/~message@1.0/set?999999.x=1', answered],
    ['sub-paths 40 deep', `/~message@1.0&a=${'('.repeat(40)}x${')'.repeat(40)}/a`, refused('path-too-deep', 414)],
  ] as const).map(([name, target, expect]) => row('malformed paths', name, expect, () => get(target))),
  row('malformed paths', 'segment over 512 bytes', refused(), () => get(`/~message@1.0/${'k'.repeat(600)}`)),
  row('malformed paths', 'path over the byte limit', refused(undefined, [400, 414, 431]), () => get(`/${'a/'.repeat(4_500)}`)),
  row('malformed paths', 'too many steps', refused(undefined, [400, 414]), () => get(`/~message@1.0${'/keys'.repeat(100)}`)),
  row('malformed paths', 'unknown typed value', refused('unknown-value-type'), () => get('/~message@1.0&a+nope=1/a')),
  row('malformed paths', 'query of 100 000 keys', refused(undefined, [400, 413, 414, 431]), () => get(`/~message@1.0/keys?${'k=1&'.repeat(20_000)}`)),

  // --- bad typed values --------------------------------------------------------------------------
  ...([
    ['integer overflow', 'a+integer=99999999999999999999'], ['integer not a number', 'a+integer=ten'], ['float NaN', 'a+float=NaN'],
    ['float 1e400', 'a+float=1e400'], ['boolean junk', 'a+boolean=maybe'], ['list junk', 'a+list=(((('], ['map junk', 'a+map=a=(b'],
    ['list of 200 parens', `a+list=${'('.repeat(200)}1${')'.repeat(200)}`], ['map with bad key', 'a+map=A%20B=1'],
  ] as const).map(([name, keys]) => row('typed values', name, refused(), () => get(`/~message@1.0&${keys}/a`))),
  row('typed values', 'ao-types header that lies', refused(), () => get('/~message@1.0/n', [['ao-types', 'n="integer"'], ['n', 'not a number']])),
  row('typed values', 'ao-types junk', refused(), () => get('/~message@1.0/n', [['ao-types', '"""=;;'], ['n', '1']])),
  row('typed values', 'ao-types unknown type', refused(), () => get('/~message@1.0/n', [['ao-types', 'n="weird"'], ['n', '1']])),

  // --- huge and odd headers ----------------------------------------------------------------------
  row('headers', 'one 40 KB header', refused(undefined, [400, 431]), () => get('/~meta@1.0/info/address', [['x-big', 'a'.repeat(40_000)]])),
  row('headers', '3000 headers', refused(undefined, [400, 431]), () => get('/~meta@1.0/info/address', Array.from({ length: 3_000 }, (_, i): [string, string] => [`x-h${i}`, 'v']))),
  row('headers', 'NUL in a header value', refused(undefined, 400), () => ({ raw: 'GET /~meta@1.0/info/address HTTP/1.1\r\nhost: x\r\nx-a: a\0b\r\nconnection: close\r\n\r\n' })),
  row('headers', 'space before the colon', refused(undefined, 400), () => ({ raw: 'GET / HTTP/1.1\r\nhost : x\r\nconnection: close\r\n\r\n' })),
  row('headers', 'two different content-lengths', refused(undefined, 400), () => ({ raw: 'POST /~message@1.0/set/a HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ncontent-length: 5\r\nconnection: close\r\n\r\nabc' })),
  row('headers', 'negative content-length', refused(undefined, 400), () => ({ raw: 'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\nconnection: close\r\n\r\n' })),
  row('headers', 'content-length and chunked (smuggling)', refused(undefined, 400), () => ({ raw: 'POST /~message@1.0/set/a HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n' })),
  row('headers', 'bad chunk size', refused(undefined, 400), () => ({ raw: 'POST /~message@1.0/set/a HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n' })),
  row('headers', 'no host header', refused(undefined, 400), () => ({ raw: 'GET /~meta@1.0/info/address HTTP/1.1\r\nconnection: close\r\n\r\n' })),
  row('headers', 'HTTP/0.9 request line', answered, () => ({ raw: 'GET /\r\n\r\n' })),
  row('headers', 'unknown require-codec', refused(undefined, 406), () => get('/~message@1.0&a=1', [['require-codec', 'evil@9.9']])),
  row('headers', 'accept-signature junk', answered, () => get('/~message@1.0&a=1', [['accept-signature', ';;;===']])),
  row('headers', 'range far past a blob', refused(undefined, 416), async (ctx) => get(`/~store@1.0/blob/${await ctx.put(Buffer.from('small'))}`, [['range', 'bytes=999999999-']])),
  row('headers', 'range junk', answered, async (ctx) => get(`/~store@1.0/blob/${await ctx.put(Buffer.from('small'))}`, [['range', 'bytes=--,,5-2']])),
  row('headers', 'content-digest that lies', refused(), () => post('/~message@1.0/set/a', 'a=1', 'text/plain', [['content-digest', 'sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:']])),

  // --- bad encodings -----------------------------------------------------------------------------
  ...([
    ['JSON syntax', '{"a":'], ['JSON top-level list', '[1,2]'], ['JSON top-level number', '42'], ['JSON huge integer', '{"a":123456789012345678901234567890}'],
    ['JSON bytes link junk', '{"a":{"/":{"bytes":"!!!"}}}'], ['JSON with BOM', '\ufeff{"a":1}'], ['JSON lone surrogate', '{"a":"\\ud800"}'],
  ] as const).map(([name, body]) => row('encodings', name, name === 'JSON bytes link junk' || name === 'JSON lone surrogate' ? answered : refused(), () => json('/~message@1.0/set/a', body))),
  ...([
    ['CBOR junk', Buffer.from('not cbor at all')], ['CBOR top-level list', Buffer.from([0x82, 0x01, 0x02])],
    ['CBOR indefinite map', Buffer.from([0xbf, 0x61, 0x61, 0x01, 0xff])],
    ['CBOR huge declared length', Buffer.from([0xa1, 0x61, 0x61, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
    ['CBOR unknown tag', Buffer.from([0xa1, 0x61, 0x61, 0xd8, 0x2b, 0x01])], ['CBOR truncated', Buffer.from([0xa2, 0x61, 0x61])],
  ] as const).map(([name, body]) => row('encodings', name, refused(), () => post('/~message@1.0/set/a', body, 'application/cbor'))),
  // Not canonical, but unambiguous: decoded leniently, and every ID is of the canonical re-encoding.
  ...([
    ['CBOR undefined', Buffer.from([0xa1, 0x61, 0x61, 0xf7])], ['CBOR unsorted keys', Buffer.from([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02])],
    ['CBOR non-shortest int', Buffer.from([0xa1, 0x61, 0x61, 0x18, 0x01])],
  ] as const).map(([name, body]) => row('encodings', name, answered, () => post('/~message@1.0/set/a', body, 'application/cbor'))),
  row('encodings', 'text body with invalid UTF-8', answered, () => post('/~message@1.0/set/body', Buffer.from([0x61, 0xff, 0xfe]), 'text/plain')),
  row('encodings', 'OpenAI body not JSON', refused('invalid-json'), () => json('/~gpu-infer@1.0/v1/chat/completions', '{{{')),
  row('encodings', 'OpenAI n=500', refused('invalid-n'), () => json('/~gpu-infer@1.0/v1/chat/completions', chat(',"n":500'))),
  row('encodings', 'OpenAI 200 tools', refused('invalid-tools'), () => json('/~gpu-infer@1.0/v1/chat/completions', chat(`,"tools":[${Array.from({ length: 200 }, (_, i) => `{"type":"function","function":{"name":"f${i}"}}`).join(',')}]`))),
  row('encodings', 'OpenAI tools 100 KiB', refused('json-schema-too-large'), () => json('/~gpu-infer@1.0/v1/chat/completions', chat(`,"tools":[{"type":"function","function":{"name":"f","description":"${'d'.repeat(100_000)}"}}]`))),
  row('encodings', 'embeddings of 1000 inputs', refused('invalid-input'), () => json('/~gpu-infer@1.0/v1/embeddings', JSON.stringify({ model: 'tiny', input: Array.from({ length: 1000 }, () => 'x') }))),
  row('encodings', 'detokenize an id past the vocabulary', refused('invalid-tokens'), () => json('/~gpu-infer@1.0/v1/detokenize', '{"model":"tiny","tokens":[1,4294967295]}')),
  row('encodings', 'OpenAI route that does not exist', refused('unknown-route'), () => json('/~gpu-infer@1.0/v1/images/generations', '{}')),

  // --- deep nesting and costly schemas -----------------------------------------------------------
  row('nesting', 'JSON body 5000 deep', refused('nesting-too-deep'), () => json('/~message@1.0/set/a', deepJson(5_000))),
  row('nesting', 'JSON lists 100 000 deep', refused('nesting-too-deep'), () => json('/~message@1.0/set/a', `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`)),
  row('nesting', 'CBOR body 200 000 deep', refused('nesting-too-deep'), () => post('/~message@1.0/set/a', deepCbor(200_000), 'application/cbor')),
  row('nesting', 'OpenAI messages 5000 deep', refused('nesting-too-deep'), () => json('/~gpu-infer@1.0/v1/chat/completions', chat(`,"user":${deepJson(5_000)}`))),
  row('nesting', 'OpenAI schema 20 000 deep', refused('nesting-too-deep'), () => json('/~gpu-infer@1.0/v1/chat/completions', schemaChat(deepJson(20_000)))),
  row('schemas', 'enum of 50 000 values', refused('json-schema-too-large'), () => json('/~gpu-infer@1.0/v1/chat/completions', schemaChat(`{"enum":[${Array.from({ length: 50_000 }, (_, i) => `"v${i}"`).join(',')}]}`))),
  row('schemas', 'enum of 5000 values', refused('json-schema-too-complex'), () => json('/~gpu-infer@1.0/v1/chat/completions', schemaChat(`{"enum":[${Array.from({ length: 5_000 }, (_, i) => i).join(',')}]}`))),
  row('schemas', '3000 properties', refused('json-schema-too-complex'), () => json('/~gpu-infer@1.0/v1/chat/completions', schemaChat(`{"type":"object","properties":{${Array.from({ length: 3_000 }, (_, i) => `"p${i}":{}`).join(',')}}}`))),
  row('schemas', 'schema nested 40 levels', refused('invalid-json-schema'), () => json('/~gpu-infer@1.0/v1/chat/completions', schemaChat(`${'{"type":"array","items":'.repeat(40)}{"type":"string"}${'}'.repeat(40)}`))),
  row('schemas', 'self-referencing $ref', refused('invalid-json-schema'), () => json('/~gpu-infer@1.0/v1/chat/completions', schemaChat('{"$ref":"#"}'))),
  row('schemas', 'string of 100 000 characters exactly', refused('invalid-json-schema'), () => json('/~gpu-infer@1.0/v1/chat/completions', schemaChat('{"type":"string","minLength":100000,"maxLength":100000}'))),
  row('schemas', 'schema text not JSON (path route)', refused('invalid-json-schema'), () => get('/~gpu-infer@1.0/run&model=tiny&prompt=x&json-schema=%7B%7B%7B')),
  row('schemas', 'body at the size limit', answered, () => json('/~message@1.0/set/a', `{"a":"${'x'.repeat(BODY_LIMIT - 20)}"}`)),
  row('schemas', 'body over the size limit', { refused: true, status: 413, orCutOff: true }, () => json('/~message@1.0/set/a', `{"a":"${'x'.repeat(BODY_LIMIT + 10)}"}`)),

  // --- junk signatures ---------------------------------------------------------------------------
  row('signatures', 'signature without signature-input', refused(), () => get('/~message@1.0&a=1/a', [['signature', 'sig=:AAAA:']])),
  row('signatures', 'signature-input junk', refused(), () => get('/~message@1.0&a=1/a', [['signature-input', ';;;'], ['signature', 'sig=:AAAA:']])),
  row('signatures', 'unknown algorithm', refused(), () => get('/~message@1.0&a=1/a', [['signature-input', 'sig=("@path");alg="rot13";keyid="abc"'], ['signature', 'sig=:AAAA:']])),
  row('signatures', 'keyid that is no key', refused(), () => get('/~message@1.0&a=1/a', [['signature-input', 'sig=("@path");alg="ed25519";keyid="not-a-key"'], ['signature', 'sig=:AAAA:']])),
  row('signatures', 'signature not base64', refused(), () => get('/~message@1.0&a=1/a', [['signature-input', 'sig=("@path");alg="ed25519";keyid="AAAA"'], ['signature', 'sig=:!!!!:']])),
  row('signatures', 'ed25519 signature of the wrong length', refused(), (ctx) => signed(ctx.stranger, 'GET', '/~message@1.0/a', { a: '1' }, (h) => { h.signature = h.signature!.replace(/:[^:]+:/, ':AAAA:') })),
  row('signatures', 'valid signature, value changed after', refused(), (ctx) => signed(ctx.stranger, 'GET', '/~message@1.0/a', { a: '1' }, (h) => { h.a = '2' })),
  row('signatures', 'covers a header that is absent', refused(), (ctx) => signed(ctx.stranger, 'GET', '/~message@1.0/a', { a: '1' }, (h) => { h['signature-input'] = h['signature-input']!.replace('("a"', '("a" "missing"') })),
  row('signatures', 'signed body digest, body swapped', refused(), (ctx) => {
    const { headers } = signRequest(ctx.stranger, { method: 'POST', url: '/~message@1.0/set/a', headers: { 'content-type': 'text/plain' }, body: Buffer.from('one') })
    return { method: 'POST', target: '/~message@1.0/set/a', headers: Object.entries(headers), body: 'two' }
  }),
  row('signatures', 'ANS-104 and httpsig at once', refused('mixed-signing-formats'), () => post('/~message@1.0/a', Buffer.from('x'), 'application/ans104', [['signature', 'sig=:AAAA:']])),

  // --- junk ANS-104 items ------------------------------------------------------------------------
  row('ans104', 'empty item', refused(), () => post('/~message@1.0/a', Buffer.alloc(0), 'application/ans104')),
  row('ans104', 'random bytes', refused(), () => post('/~message@1.0/a', Buffer.from('random junk that is no data item'), 'application/ans104')),
  row('ans104', 'unknown signature type', refused(), () => post('/~message@1.0/a', Buffer.from([99, 0, ...Buffer.alloc(1_100)]), 'application/ans104')),
  row('ans104', 'tampered data', refused(), (ctx) => {
    const { bytes } = buildDataItem(ctx.stranger, { tags: [{ name: 'a', value: '1' }], data: 'original' })
    return post('/~message@1.0/a', withByte(bytes, bytes.length - 1, 0x21), 'application/ans104')
  }),
  row('ans104', 'truncated item', refused(), (ctx) => post('/~message@1.0/a', buildDataItem(ctx.stranger, { data: 'x' }).bytes.subarray(0, 90), 'application/ans104')),
  row('ans104', 'tag count of 2^32', refused(), (ctx) => {
    const { bytes } = buildDataItem(ctx.stranger, { tags: [{ name: 'a', value: '1' }], data: 'x' })
    const at = 2 + 32 + 32 + 1 + 1 // signature type, ed25519 signature and owner, no target, no anchor
    const copy = Buffer.from(bytes)
    copy.writeUInt32LE(0xffffffff, at)
    return post('/~message@1.0/a', copy, 'application/ans104')
  }),

  // --- junk CARs (the ledger rows below send signed ones) ---------------------------------------
  row('cars', 'CAR of random bytes', refused(), () => post('/~replay@1.0/import', Buffer.from('definitely not a car'), 'application/vnd.ipld.car')),
  row('cars', 'CAR import without a body', refused(), () => get('/~replay@1.0/import')),

  // --- junk GGUF uploads -------------------------------------------------------------------------
  row('gguf', 'HTML as a model', refused('invalid-gguf'), async (ctx) => run(await ctx.put(Buffer.from('<html><script>alert(1)</script></html>'), 'text/html'))),
  row('gguf', 'truncated model', refused('invalid-gguf'), async (ctx) => run(await ctx.put(tinyModel.subarray(0, 200_000)))),
  row('gguf', 'bad version', refused('invalid-gguf'), async (ctx) => run(await ctx.put(withByte(tinyModel, 4, 9)))),
  row('gguf', 'tensor count 2^64-1', refused('invalid-gguf'), async (ctx) => run(await ctx.put(Buffer.from(tinyModel).fill(0xff, 8, 16)))),
  row('gguf', 'key type 200', refused('invalid-gguf'), async (ctx) => {
    const bytes = Buffer.from(tinyModel)
    const keyLength = Number(bytes.readBigUInt64LE(24))
    bytes.writeUInt32LE(200, 32 + keyLength) // the first key's value type
    return run(await ctx.put(bytes))
  }),
  row('gguf', 'unknown architecture (loads fail)', refused('invalid-gguf'), async (ctx) =>
    run(await ctx.put(Buffer.concat([...ggufChunks([['general.architecture', { type: 'string', value: 'no-such-arch' }]], [])])))),
  row('gguf', 'model name that is a path', refused(), () => get('/~gpu-infer@1.0/run&model=..%2F..%2Fwallet.json&prompt=hi')),

  // --- slow clients ------------------------------------------------------------------------------
  row('slow clients', 'headers never finished', cutOff, () => ({ raw: 'GET /~meta@1.0/info HTTP/1.1\r\nhost: x\r\n', stopAfter: 40 })),
  row('slow clients', 'upload stalled half way', cutOff, () => ({ method: 'PUT', target: '/~store@1.0/put', headers: [['content-length', '2000000']], body: Buffer.alloc(1_000_000, 1), stopAfter: 800_000 })),
  row('slow clients', 'message body stalled', cutOff, () => ({ method: 'POST', target: '/~message@1.0/set/a', headers: [['content-type', 'application/json'], ['content-length', '100000']], body: '{"a":"', stopAfter: 6 })),

  // --- forgeries whose refusal main already enforces -----------------------------------------------
  row('forgeries', 'unsigned operator change', refused(undefined, [400, 401, 403]), () => json('/~meta@1.0/info', '{"operator":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}')),
  row('forgeries', 'operator change signed by a stranger', refused(undefined, [400, 401, 403]), (ctx) => signed(ctx.stranger, 'POST', '/~meta@1.0/info', { operator: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })),
  row('forgeries', 'stranger-signed change, then altered', refused(), (ctx) => signed(ctx.stranger, 'POST', '/~meta@1.0/info', { operator: 'A'.repeat(43) }, (h) => { h.operator = 'B'.repeat(43) })),
  row('forgeries', 'unsigned delete', refused(undefined, [401, 403]), async (ctx) => ({ method: 'POST', target: `/~store@1.0/delete&sha256=${await ctx.put(Buffer.from('keep me'))}`, body: '' })),
  row('forgeries', 'delete by GET', refused(undefined, [401, 403, 405]), async (ctx) => get(`/~store@1.0/delete&sha256=${await ctx.put(Buffer.from('keep me'))}`)),
  row('forgeries', 'delete signed by a stranger', refused(undefined, [401, 403]), async (ctx) => signed(ctx.stranger, 'POST', `/~store@1.0/delete&sha256=${await ctx.put(Buffer.from('keep me too'))}`, { kind: 'blob' })),
  row('forgeries', 'ANS-104 operator change by a stranger', refused(undefined, [400, 401, 403]), (ctx) =>
    post('/~meta@1.0/info', buildDataItem(ctx.stranger, { tags: [{ name: 'operator', value: 'A'.repeat(43) }] }).bytes, 'application/ans104')),
  row('forgeries', 'sha256 declared for other bytes', refused('sha256-mismatch'), () => ({ method: 'PUT', target: `/~store@1.0/put&sha256=${'0'.repeat(64)}`, body: 'not those bytes' })),
  row('forgeries', 'operator request replayed', refused(undefined, 403), async (ctx) => {
    const req = await spentOperatorRequest(ctx, 'set once')
    return asRaw(req.url, req.init)
  }),
  row('forgeries', 'operator request re-targeted to a delete', refused(undefined, [400, 403]), async (ctx) => {
    const sha256 = await ctx.put(Buffer.from('must survive'))
    const req = operatorRequest(ctx.operator, ctx.baseUrl, 'description', 'never')
    return asRaw(req.url, req.init, `/~store@1.0/delete&sha256=${sha256}`)
  }),
  row('forgeries', 'operator request re-labelled (another key named)', refused(), (ctx) => {
    const req = operatorRequest(ctx.operator, ctx.baseUrl, 'description', 'never')
    const headers = { ...(req.init.headers as Record<string, string>), 'inline-body-key': 'operator' }
    return asRaw(req.url, { ...req.init, headers })
  }),
  row('forgeries', 'stale operator request (an hour old)', refused(undefined, [400, 403]), (ctx) => {
    const req = operatorRequest(ctx.operator, ctx.baseUrl, 'description', 'stale', Math.floor(Date.now() / 1000) - 3_600)
    return asRaw(req.url, req.init)
  }),
  row('forgeries', 'node-signed commit output pasted into a body', refused(undefined, 403), async (ctx) => {
    const put = await fetch(`${ctx.baseUrl}/~store@1.0/put`, {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ message: { path: 'info', operator: 'A'.repeat(43) } }),
    })
    const { id } = (await put.json()) as { id: string }
    const committed = fromJson(await (await fetch(`${ctx.baseUrl}/${id}/commit`, { headers: { accept: 'application/json' } })).json()) as Record<string, unknown>
    const { path: _path, ...body } = committed
    return json('/~meta@1.0/info', JSON.stringify(toJson(body as never)))
  }),
  row('forgeries', 'node-signed reply re-used as a request', refused(undefined, 403), async (ctx) => {
    const reply = await fetch(`${ctx.baseUrl}/~message@1.0&operator=${'A'.repeat(43)}/remove&item=device`, { headers: { 'accept-signature': 'sig=()' } })
    const headers: Array<[string, string]> = ['operator', 'hashpath', 'signature', 'signature-input'].map((n) => [n, reply.headers.get(n) ?? ''])
    return { method: 'POST', target: '/~meta@1.0/info', headers, body: '' }
  }),
  row('forgeries', 'CBOR message with a fake commitment', answered, () => post('/~message@1.0/verify', encodeCanonical({ a: 1, commitments: { ['A'.repeat(43)]: { 'commitment-device': 'httpsig@1.0', signature: 'AAAA', keyid: 'AAAA', committed: ['a'] } } }), 'application/cbor')),

  // --- the ledger: forged records, cycles, commutative chains, CAR errors (issue 11 items 3-5, 8) ---
  row('ledger', 'forged record imported anonymously', refused('signature-required', 403), async (ctx) => post('/~replay@1.0/import', (await forged(ctx)).car, CAR_CONTENT_TYPE)),
  row('ledger', 'forged record imported by a stranger', refused('not-operator', 403), async (ctx) => signedImport(ctx, ctx.stranger, (await forged(ctx)).car)),
  row('ledger', 'forged record imported by the operator is never served as a hit', {
    answered: true,
    check: (res) => expect([res.status, res.body.toString(), res.headers.get('ao-cache'), res.headers.get('hashbeam-untrusted-record')?.length]).toEqual([200, '7777', 'miss', 43]),
  }, async (ctx) => {
    const { car, path } = await forged(ctx)
    const spec = signedImport(ctx, ctx.operator, car)
    const imported = await fetch(`${ctx.baseUrl}${spec.target}`, { method: 'POST', headers: Object.fromEntries(spec.headers!), body: spec.body as BodyInit })
    if (imported.status !== 200) throw new Error(`the operator's import failed: ${imported.status} ${await imported.text()}`)
    return get(path)
  }),
  row('ledger', 'two records whose bases form a cycle', refused('chain-cycle', 422), async (ctx) =>
    signedImport(ctx, ctx.operator, await alteredCar(ctx.stranger, CHAIN_PATH, { records: (r) => [{ ...r[0]!, base: r[2]!.hashpath }, r[1]!, r[2]!] }))),
  row('ledger', 'accumulate-256 chains with swapped steps sharing a hashpath', {
    answered: true,
    check: (res) => expect([res.status, res.body.toString(), res.headers.get('ao-cache')]).toEqual([200, 'p', 'miss']),
  }, async (ctx) => {
    const base = '/~message@1.0&hashpath-alg=accumulate-256'
    expect(await (await fetch(`${ctx.baseUrl}${base}/set&acc=p/set&acc=q/acc`)).text()).toBe('q')
    return get(`${base}/set&acc=q/set&acc=p/acc`)
  }),
  row('ledger', 'CAR block whose bytes do not match its CID', refused('block-cid-mismatch', 422), async (ctx) => {
    const car = await alteredCar(ctx.stranger, CHAIN_PATH)
    return signedImport(ctx, ctx.operator, withByte(car, car.length - 1, car[car.length - 1]! ^ 1))
  }),
  row('ledger', 'CAR record with a broken seal', refused('corrupt-record', 422), async (ctx) =>
    signedImport(ctx, ctx.operator, await alteredCar(ctx.stranger, CHAIN_PATH, { recordBytes: (b) => [flipLast(b[0]!), ...b.slice(1)] }))),
  row('ledger', 'CAR with a junk manifest', refused('invalid-manifest', 422), async (ctx) =>
    signedImport(ctx, ctx.operator, await alteredCar(ctx.stranger, CHAIN_PATH, { manifest: () => encodeCanonical({ kind: 'junk', steps: 'none' }) }))),
  row('ledger', 'CAR manifest altered after signing', refused('invalid-export-signature', 422), async (ctx) =>
    signedImport(ctx, ctx.operator, await alteredCar(ctx.stranger, CHAIN_PATH, {
      manifest: (m) => encodeCanonical({ ...(decodeCanonical(m) as Record<string, unknown>), hashpath: `${idOf({ elsewhere: walletAddress(ctx.stranger) })}/c` }),
    }))),
]
