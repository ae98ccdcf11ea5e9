import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeCanonical, decodeMessage, encodeMessage } from '../../core/codec.js'
import { idOf, isAoId, isCidId, toAoId, toCid, unsignedIdOf } from '../../core/id.js'
import type { Message, Value } from '../../core/types.js'

const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'))

describe('codec: canonical DAG-CBOR for messages', () => {
  // Golden values computed independently with Python's hashlib and base64.
  it('golden vector: {hello: "world"} and its ID in both forms', () => {
    const bytes = encodeMessage({ hello: 'world' })
    expect(Buffer.from(bytes).toString('hex')).toBe('a16568656c6c6f65776f726c64')
    const id = idOf({ hello: 'world' })
    expect(id).toBe('eFGXIp3IuxFSlF2ljiNI9-J57t7QbMLKc20Oh5hYtQE')
    expect(toCid(id).toString()).toBe('bafyreidykglsfhoixmivffc5uwhcgshx4j465xwqntbmu43nb2dzqwfvae')
    expect(toAoId(toCid(id).toString())).toBe(id)
  })
  it('sorts keys canonically regardless of insertion order', () => {
    expect(encodeMessage({ b: 1, a: 2, aa: 3 })).toEqual(encodeMessage({ aa: 3, a: 2, b: 1 }))
  })
  it('drops private keys at every depth, so they never reach a hash', () => {
    expect(idOf({ a: 1, priv: 'secret', inner: { 'priv-x': 1, b: 2 } })).toBe(idOf({ a: 1, inner: { b: 2 } }))
  })
  it.each<[string, unknown]>([
    ['NaN', { a: Number.NaN }],
    ['Infinity', { a: Number.POSITIVE_INFINITY }],
    ['an unsafe integer', { a: 2 ** 60 }],
    ['an upper-case key', { A: 1 }],
    ['a function', { a: () => 1 }],
    ['a Date', { a: new Date() }],
  ])('rejects %s with a typed 400', (_name, message) => {
    expect(() => encodeMessage(message as Message)).toThrow(expect.objectContaining({ status: 400, code: 'invalid-message' }))
  })
  it.each([
    ['unsorted map keys', 'a261620161610'],
    ['non-shortest integer', 'a1616118 01'],
    ['indefinite-length map', 'bf616101ff'],
    ['a top-level non-map', '01'],
  ])('decodeMessage rejects %s', (_name, h) => {
    expect(() => decodeMessage(hex(h.replace(/ /g, '')))).toThrow(expect.objectContaining({ status: 400 }))
  })
  it('unsigned ID ignores commitments', () => {
    expect(unsignedIdOf({ a: 1, commitments: { x: { sig: 'y' } } })).toBe(idOf({ a: 1 }))
    expect(idOf({ a: 1, commitments: { x: { sig: 'y' } } })).not.toBe(idOf({ a: 1 }))
  })
  it('tells ID forms apart', () => {
    const id = idOf({})
    expect([isAoId(id), isCidId(toCid(id).toString()), isAoId('x'), isCidId('bafyx')]).toEqual([true, true, false, false])
  })
})

const key = fc.stringMatching(/^[a-z0-9-]{1,12}$/).filter((k) => !k.startsWith('priv'))
const value: fc.Arbitrary<Value> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    // Integral numbers past 2^53 are refused by design (they would not survive JSON clients).
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0) && !(Number.isInteger(d) && !Number.isSafeInteger(d))),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 32 }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key, tie('v'), { maxKeys: 4 }),
  ),
})).v as fc.Arbitrary<Value>

describe('codec: properties', () => {
  it('decode(encode(m)) = m and IDs are stable', () => {
    fc.assert(fc.property(fc.dictionary(key, value, { maxKeys: 6 }), (message) => {
      const bytes = encodeMessage(message)
      expect(decodeCanonical(bytes)).toEqual(message)
      expect(encodeMessage(decodeMessage(bytes))).toEqual(bytes)
      expect(idOf(decodeMessage(bytes))).toBe(idOf(message))
    }), { numRuns: 500 })
  })
})
