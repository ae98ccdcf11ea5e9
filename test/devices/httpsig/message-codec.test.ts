/**
 * The httpsig message codec: any message → header fields + multipart body → the same message
 * (same ID), byte-identical output for the same input, and the security rule that keys never
 * become fields HTTP clients act on (`set-cookie`, `content-type`, `location`, …).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { idOf } from '../../../core/id.js'
import type { Message, Value } from '../../../core/types.js'
import { decodeMessage, encodeMessage } from '../../../devices/httpsig/message-codec.js'
import { checkContentDigest } from '../../../devices/httpsig/index.js'

const roundTrip = (message: Message): Message => {
  const { fields, body } = encodeMessage(message)
  return decodeMessage(fields, body)
}

const key = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
  fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
  fc.constantFrom('set-cookie', 'content-type', 'hashpath', 'a/b', 'x y', 'ünï', '1', 'ao-types', 'signature'),
).filter((k) => !k.startsWith('priv'))
const scalar: fc.Arbitrary<Value> = fc.oneof(
  fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ minLength: 4097, maxLength: 5000 }), fc.constantFrom(' lead', 'trail ', 'a\r\nb', '(ao-type-integer) 1'),
  fc.integer(), fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0) && (!Number.isInteger(d) || Number.isSafeInteger(d))),
  fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 40 }),
)
const { value } = fc.letrec<{ value: Value; message: Message }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('value'), { maxLength: 4 }), tie('message')),
  message: fc.dictionary(key, tie('value'), { maxKeys: 5 }) as fc.Arbitrary<Message>,
}))
const message = fc.dictionary(key, value, { maxKeys: 8 }) as fc.Arbitrary<Message>

describe('httpsig message codec', () => {
  it('property: decode(encode(m)) has the ID of m, and encoding is deterministic', () => {
    fc.assert(fc.property(message, (m) => {
      expect(idOf(roundTrip(m))).toBe(idOf(m))
      const [once, again] = [encodeMessage(m), encodeMessage(m)]
      // Buffer#equals, not toEqual: a deep comparison walks a large body byte by byte (seconds).
      expect(once.fields).toEqual(again.fields)
      expect(Buffer.from(once.body).equals(Buffer.from(again.body))).toBe(true)
    }), { numRuns: 300 })
  })

  it('writes short scalars as typed fields and the rest as named parts bound by content-digest', () => {
    const { fields, body } = encodeMessage({
      greeting: 'hi', n: 42, ratio: 1.5, ok: true, none: null, empty: '', tags: ['a', 1], bytes: new Uint8Array([1, 2]),
      nested: { x: 'y', deep: { z: 1 } }, 'set-cookie': 'session=evil', long: 'x'.repeat(5000),
    })
    const map = Object.fromEntries(fields)
    expect(map).toMatchObject({ greeting: 'hi', n: '42', ratio: '1.5', ok: 'true', none: 'null', tags: '"a", "(ao-type-integer) 1"' })
    expect(map['ao-types']).toBe('bytes="binary", empty="empty-binary", n="integer", none="atom", ok="atom", ratio="float", tags="list"')
    expect(map['set-cookie']).toBeUndefined()
    expect(map['content-type']).toMatch(/^multipart\/form-data; boundary="[A-Za-z0-9_-]{43}"$/)
    expect(checkContentDigest(map['content-digest']!, body)).toEqual(['sha-256'])
    const text = Buffer.from(body).toString('utf8')
    for (const name of ['bytes', 'long', 'nested', 'nested/deep', 'set-cookie']) expect(text).toContain(`content-disposition: form-data;name="${name}"`)
    expect(text).toContain('\r\nx: y\r\n')
  })

  it('keeps IDs as keys in their case (commitments) and refuses a body that is not its multipart', () => {
    const id = 'AbC_-123456789012345678901234567890123456789'
    const m: Message = { commitments: { [id]: { type: 'rsa-pss-sha512', committed: ['a', 'b'], 'signature-base': '"a": 1\n"b": 2' } } }
    expect(roundTrip(m)).toEqual(m)
    const { fields, body } = encodeMessage(m)
    const broken = Uint8Array.from(body)
    broken[5]! ^= 0x20
    expect(() => decodeMessage(fields, broken.subarray(0, 40))).toThrow(expect.objectContaining({ code: 'invalid-multipart' }))
  })
})
