/**
 * A rule that catches the next codec bug (issue 11): every key of every built-in device answers
 * something that every reply codec — JSON, httpsig, DAG-CBOR — can carry, and that decodes back
 * to the very result the node computed (its ID is the `ao-id` header).
 *
 * Devices and keys are read from the node's registry, so a new device or key is covered the day
 * it lands: keys without inputs of their own get generic ones, and a key that never answers 200
 * fails the suite until it gets sensible inputs here (or is listed, with its reason, in
 * NO_SUCCESS_EXPECTED). Inputs are generated with fast-check: random messages (odd keys, empty
 * and unicode strings, bytes, lists, nested maps, floats) are where codecs break.
 */
import fc from 'fast-check'
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeCanonical, encodeCanonical } from '../../core/codec.js'
import { idOf } from '../../core/id.js'
import { asResultMessage } from '../../core/message.js'
import type { Message, Value } from '../../core/types.js'
import { decodeHttpsigMessage } from '../../devices/httpsig/index.js'
import { fromJson } from '../../core/json.js'
import { modelDir, type ModelDir } from '../devices/gpu-infer/fixtures.js'
import { headerFields } from '../helpers/http.js'
import { testNode } from '../helpers/node.js'

const CODECS = ['json@1.0', 'httpsig@1.0', 'cbor@1.0'] as const

/** One HTTP request the node answers. */
interface Case {
  readonly path: string
  readonly method?: 'GET' | 'POST' | 'PUT'
  readonly body?: Uint8Array | string
  readonly type?: string
  /** A request to make first (not checked), e.g. the put before a get. */
  readonly setup?: Case
  /** What every codec must decode to, when the input determines it. */
  readonly expected?: Value
}

// The node is made while the suite is collected (top-level await), so that the tests below can
// be generated from its registry: every device, every key.
const models: ModelDir = await modelDir()
const node = await testNode({
  config: { models: { tiny: await models.make('tiny', { size: 'tiny', seed: 9, chatTemplate: true }) }, threads: 1, contextSize: 256, batchSize: 128, gpu: false },
})
/** A hashpath of a recorded chain (for replay's keys) and an attestation report (for verify). */
let chain: string
let report: Message

beforeAll(async () => {
  const res = await node.app.request('/~message@1.0&a=1/set&b+integer=2')
  chain = res.headers.get('hashpath')!
  report = fromJson(await (await node.app.request(`/~attest@1.0/report&nonce=${'ab'.repeat(16)}`, { headers: { accept: 'application/json' } })).json()) as Message
})
afterAll(async () => {
  await node.stop()
  await models.cleanup()
})

// --- random messages ----------------------------------------------------------------------

/** Keys a body may not carry: they route the request or are transport (negotiate.ts). */
const NOT_DATA = new Set(['path', 'device', 'commitments', 'hashpath', 'stream', 'attest', 'accept-codec', 'require-codec', 'accept-bundle', 'as-device'])
const key = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
  fc.string({ minLength: 1, maxLength: 8 }).map((k) => k.toLowerCase()),
  fc.constantFrom('content-type', 'set-cookie', 'location', '1', '2', 'ao-types', 'body', 'data', 'status', 'x y', 'a/b', '%41'),
).filter((k) => k.length > 0 && k === k.toLowerCase() && !NOT_DATA.has(k) && !k.startsWith('priv'))
/** Numbers every codec carries exactly (JSON cannot tell -0 from 0, nor an integral float ≥ 2^53 from an integer). */
const number = fc.oneof(
  fc.integer(), fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0) && (Math.abs(n) < 2 ** 53 || !Number.isInteger(n))),
)
const scalar = fc.oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 8 }), fc.constant(''), fc.string({ minLength: 5_000, maxLength: 5_000 }), number, fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 24 }))
const value: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(key, tie('v'), { maxKeys: 4 })),
})).v
/** A top-level `N.key` (e.g. `1.qy]`) is HyperBEAM's scoped key, aimed at message N of the chain (core/request.ts), not content. */
const SCOPED_KEY = /^[1-9][0-9]{0,3}\./
const message: fc.Arbitrary<Message> = fc.dictionary(key.filter((k) => !SCOPED_KEY.test(k)), value, { minKeys: 1, maxKeys: 6 })

/** A POST of `m` as a CBOR body (bytes stay bytes) to `path`. */
const withBody = (path: string, m: Message): Case => ({ path, method: 'POST', body: encodeCanonical(m), type: 'application/cbor' })
/** Text for a path value (arbitrary text travels in bodies, where nothing needs escaping). */
const text = fc.stringMatching(/^[A-Za-z0-9 _.,:;!-]{1,24}$/)
const q = encodeURIComponent

// --- inputs per key ---------------------------------------------------------------------------

/** Sensible inputs for each `device/key`; anything not here gets GENERIC. */
const INPUTS: Record<string, () => fc.Arbitrary<Case>> = {
  // What goes in comes back out, in every codec: the body's keys on the base, then a key's value.
  'message@1.0/set': () => message.map((m) => ({ ...withBody('/~message@1.0/set', m), expected: { device: 'message@1.0', ...m } })),
  'message@1.0/get': () => message.map((m) => ({ ...withBody(`/~message@1.0/get&key=${q(Object.keys(m)[0]!)}`, m), expected: m[Object.keys(m)[0]!]! })),
  'message@1.0/remove': () => message.map((m) => withBody(`/~message@1.0/remove&item=${q(Object.keys(m)[0]!)}`, m)),
  'message@1.0/keys': () => message.map((m) => withBody('/~message@1.0/keys', m)),
  'message@1.0/id': () => message.map((m) => withBody('/~message@1.0/id', m)),
  'message@1.0/unsigned-id': () => message.map((m) => withBody('/~message@1.0/unsigned-id', m)),
  'message@1.0/commit': () => message.map((m) => withBody('/~message@1.0/commit', m)),
  'message@1.0/verify': () => message.map((m) => withBody('/~message@1.0/commit/verify', m)),
  'message@1.0/committed': () => message.map((m) => withBody('/~message@1.0/commit/committed', m)),
  'meta@1.0/build': () => fc.constant({ path: '/~meta@1.0/build' }),
  'replay@1.0/verify': () => fc.constant({ path: `/~replay@1.0/verify&hashpath=${q(chain)}` }),
  'replay@1.0/replay': () => fc.constant({ path: `/~replay@1.0/replay&hashpath=${q(chain)}` }),
  'replay@1.0/export': () => fc.constant({ path: `/~replay@1.0/export&hashpath=${q(chain)}` }),
  'store@1.0/put': () => fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b): Case => ({ path: '/~store@1.0/put&kind=blob', method: 'PUT', body: b, type: 'application/octet-stream' })),
    message.map((m) => withBody('/~store@1.0/put', m)),
  ),
  'store@1.0/get': () => text.map((t) => ({ setup: putText(t), path: `/~store@1.0/get&sha256=${sha256Hex(t)}` })),
  'store@1.0/has': () => text.map((t) => ({ path: `/~store@1.0/has&sha256=${sha256Hex(t)}` })),
  'store@1.0/stat': () => text.map((t) => ({ setup: putText(t), path: `/~store@1.0/stat&sha256=${sha256Hex(t)}` })),
  'store@1.0/list': () => fc.constantFrom('blob', 'message').map((kind) => ({ path: `/~store@1.0/list&kind=${kind}&limit+integer=3` })),
  'gpu-infer@1.0/run': () => text.map((t) => ({ path: `/~gpu-infer@1.0/run&model=tiny&prompt=${q(t)}&max-tokens+integer=2` })),
  'gpu-infer@1.0/chat': () => text.map((t) => ({
    path: '/~gpu-infer@1.0/chat', method: 'POST', type: 'application/json',
    body: JSON.stringify({ model: 'tiny', 'max-tokens': 2, messages: [{ role: 'user', content: t }] }),
  })),
  'gpu-infer@1.0/tokenize': () => text.map((t) => ({ path: `/~gpu-infer@1.0/tokenize&model=tiny&content=${q(t)}` })),
  'gpu-infer@1.0/detokenize': () => fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 8 }).map((ids) => ({ path: `/~gpu-infer@1.0/detokenize&model=tiny&tokens=${q(JSON.stringify(ids))}` })),
  'gpu-infer@1.0/embed': () => text.map((t) => ({ path: `/~gpu-infer@1.0/embed&model=tiny&input=${q(t)}` })),
  'gpu-infer@1.0/models': () => fc.constant({ path: '/~gpu-infer@1.0/models' }),
  'gpu-infer@1.0/profile': () => fc.constant({ path: '/~gpu-infer@1.0/profile' }),
  'attest@1.0/report': () => fc.uint8Array({ minLength: 16, maxLength: 32 }).map((b) => ({ path: `/~attest@1.0/report&nonce=${Buffer.from(b).toString('hex')}` })),
  'attest@1.0/verify': () => fc.constant(0).map(() => withBody('/~attest@1.0/verify', { document: report })),
  'attest@1.0/measurement': () => fc.constant({ path: '/~attest@1.0/measurement' }),
  'dashboard@1.0/chain': () => fc.constant({ path: `/~dashboard@1.0/chain&hashpath=${q(chain)}` }),
}

/** Any key: its path with a few random typed keys (codecs must carry whatever it answers). */
const GENERIC = (device: string, k: string): fc.Arbitrary<Case> =>
  fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/).filter((x) => !NOT_DATA.has(x)), fc.oneof(text.map(q), fc.integer().map((n) => `${n}`))), { maxLength: 3 })
    .map((pairs) => ({ path: `/~${device}/${k}${pairs.map(([a, b]) => `&${a}=${b}`).join('')}` }))

/**
 * Keys that cannot answer 200 to an anonymous request with generated input, and why. They are
 * still run (generic input): whatever they answer must be below 500 and decode in every codec.
 */
const NO_SUCCESS_EXPECTED: Record<string, string> = {
  'store@1.0/delete': 'operator-only (a signed request); covered by test/devices/store',
  'replay@1.0/import': 'needs a CAR body from an export and becomes operator-only; covered by test/devices/replay',
  'replay@1.0/fault-proof': 'needs a signed inference receipt; covered by test/devices/replay',
  'replay@1.0/verify-fault': 'needs a fault proof; covered by test/devices/replay',
  'router@1.0/routes': 'answers on a --router node only (404 not-a-router here); covered by test/devices/router',
  'router@1.0/route': 'answers on a --router node only (404 not-a-router here); covered by test/devices/router',
  'router@1.0/clear-fault': 'operator-only, on a --router node only; covered by test/devices/router/checks-http.test.ts',
  'relay@1.0/call': 'needs a reachable peer (this node listens on no port; loopback peers are refused); covered by test/node/cluster-process.test.ts',
  'relay@1.0/cast': 'needs a reachable peer, as call; covered by test/node/cluster-process.test.ts',
}

const putText = (t: string): Case => ({ path: `/~store@1.0/put&kind=blob&body=${q(t)}` })

function sha256Hex(t: string): string {
  return createHash('sha256').update(t).digest('hex')
}

// --- checking one reply -------------------------------------------------------------------------

async function request(c: Case, codec: string): Promise<Response> {
  const headers: Record<string, string> = { 'require-codec': codec }
  if (c.type !== undefined) headers['content-type'] = c.type
  return node.app.request(c.path, { method: c.method ?? 'GET', headers, ...(c.body === undefined ? {} : { body: c.body as BodyInit }) })
}

/** The value a reply carries, decoded as a client would. */
function decodeReply(res: Response, bytes: Uint8Array): Value {
  const type = res.headers.get('content-type') ?? ''
  if (res.headers.get('codec-device') === 'httpsig@1.0') return decodeHttpsigMessage(headerFields(res.headers), bytes)
  if (type.startsWith('application/json')) return fromJson(JSON.parse(Buffer.from(bytes).toString('utf8')))
  if (type.startsWith('application/cbor')) return decodeCanonical(bytes) as Value
  if (type.startsWith('text/plain')) return Buffer.from(bytes).toString('utf8')
  if (type.startsWith('application/octet-stream')) return bytes
  throw new Error(`unexpected reply type ${type}`)
}

/** Checks one case in every codec; returns how many replies were 200. */
async function checkCase(c: Case, where: string): Promise<number> {
  if (c.setup !== undefined) expect((await request(c.setup, 'json@1.0')).status, `setup of ${where}`).toBe(200)
  let ok = 0
  for (const codec of CODECS) {
    const res = await request(c, codec)
    const bytes = new Uint8Array(await res.arrayBuffer())
    const label = `${where} ${c.method ?? 'GET'} ${c.path.slice(0, 160)} in ${codec}: ${Buffer.from(bytes).toString('utf8').slice(0, 300)}`
    expect(res.status, label).toBeLessThan(500)
    if (res.status !== 200) continue
    ok++
    if (res.headers.get('ao-id') === null) {
      // A blob download (node/store-http.ts) streams stored bytes, not a result: no codec applies.
      expect(res.headers.get('etag'), label).toMatch(/^"[0-9a-f]{64}"$/)
      continue
    }
    const decoded = decodeReply(res, bytes)
    expect(idOf(asResultMessage(decoded)), label).toBe(res.headers.get('ao-id'))
    if (c.expected !== undefined) expect(decoded, label).toEqual(c.expected)
  }
  return ok
}

// --- the property -------------------------------------------------------------------------

/** Cheap keys get more runs; inference keys run llama.cpp each time. HASHBEAM_PROPERTY_SCALE=10 digs deeper. */
const SCALE = Number(process.env.HASHBEAM_PROPERTY_SCALE ?? '1')
const runsFor = (device: string) => Math.ceil(SCALE * (device.startsWith('gpu-infer') ? 3 : device.startsWith('attest') ? 4 : 25))

describe('every key of every built-in device answers in every reply codec', () => {
  for (const device of node.registry.list()) {
    for (const k of new Set(['info', ...Object.keys(device.keys)])) {
      const id = `${device.name}/${k}`
      it(id, async () => {
        const inputs = INPUTS[id]?.() ?? GENERIC(device.name, k)
        let successes = 0
        await fc.assert(fc.asyncProperty(inputs, async (c) => {
          successes += await checkCase(c, id)
        }), { numRuns: runsFor(device.name), endOnFailure: true })
        if (NO_SUCCESS_EXPECTED[id] === undefined) expect(successes, `${id} never answered 200: give it inputs in INPUTS`).toBeGreaterThan(0)
      }, 120_000)
    }
  }
})
