/**
 * Reading bodies the way HyperBEAM and hbsig write them (devices/httpsig/message-codec.ts
 * `addBodyParts`, signed-request.ts): parts without a blank line, the `inline` body part,
 * deep parts whose parents have none of their own, a part with fields and a body, empty values
 * typed by the parent; what a signed request commits (body framing is no key, a typed body is
 * typed); and the names that would replace a prototype instead of adding a key.
 */
import { describe, expect, it } from 'vitest'
import { boundaryOf, decodeHttpsigMessage, signedRequestKeys } from '../../../devices/httpsig/index.js'

const CRLF = '\r\n'
/** A body as hbsig writes it: each part's lines, parts joined by the boundary, no final CRLF. */
function hbsigBody(boundary: string, parts: string[][]): Uint8Array {
  return new TextEncoder().encode(`--${boundary}${CRLF}${parts.map((lines) => lines.join(CRLF)).join(`${CRLF}--${boundary}${CRLF}`)}${CRLF}--${boundary}--`)
}
const B = 'b0undary'
const contentType = `multipart/form-data; boundary="${B}"`

describe('HyperBEAM / hbsig parts', () => {
  it('reads fields-only parts, the inline body part, deep parts without parents and lists of maps', () => {
    const body = hbsigBody(B, [
      ['ao-types: 2="empty-list"', 'content-disposition: inline'],
      ['a: 1', 'ao-types: a="integer"', 'content-disposition: form-data;name="items/1"'],
      ['ao-types: b="atom"', 'b: "true"', 'content-disposition: form-data;name="items/2"'],
      ['ao-types: port="integer"', 'content-disposition: form-data;name="network/nodes/1"', 'ip: 127.0.0.1', 'port: 8080'],
      ['ao-types: nodes="list"', 'content-disposition: form-data;name="network"'],
    ])
    const message = decodeHttpsigMessage([['content-type', contentType], ['ao-types', 'items="list", body="list"']], body)
    expect(message).toEqual({ body: [[]], items: [{ a: 1 }, { b: true }], network: { nodes: [{ ip: '127.0.0.1', port: 8080 }] } })
  })

  it('reads a part with fields and a body as a message holding the body, and untyped non-UTF-8 bytes as bytes', () => {
    const head = new TextEncoder().encode(`--${B}${CRLF}content-disposition: form-data;name="m"${CRLF}x: 1${CRLF}${CRLF}`)
    const tail = new TextEncoder().encode(`${CRLF}--${B}${CRLF}content-disposition: form-data;name="raw"${CRLF}${CRLF}`)
    const end = new TextEncoder().encode(`${CRLF}--${B}--`)
    const body = Buffer.concat([head, Buffer.from('hello'), tail, Buffer.from([0xff, 0x00]), end])
    expect(decodeHttpsigMessage([['content-type', contentType]], body)).toEqual({ m: { x: '1', body: 'hello' }, raw: new Uint8Array([0xff, 0]) })
  })

  it('lets the parent\'s empty-* type win over an empty part (hbsig sends both)', () => {
    const body = hbsigBody(B, [['content-disposition: form-data;name="body"', '', ''], ['content-disposition: form-data;name="b"', '', 'x']])
    expect(decodeHttpsigMessage([['content-type', contentType], ['ao-types', 'body="empty-binary"']], body)).toEqual({ body: '', b: 'x' })
  })

  it('refuses "__proto__" as a part name or an ao-types key (400), instead of replacing a prototype', () => {
    const body = hbsigBody(B, [['content-disposition: form-data;name="__proto__"', 'polluted: yes']])
    expect(() => decodeHttpsigMessage([['content-type', contentType]], body)).toThrow(expect.objectContaining({ code: 'invalid-multipart' }))
    const nested = hbsigBody(B, [['content-disposition: form-data;name="a/__proto__"', 'polluted: yes']])
    expect(() => decodeHttpsigMessage([['content-type', contentType]], nested)).toThrow(expect.objectContaining({ code: 'invalid-multipart' }))
    expect(() => decodeHttpsigMessage([['ao-types', '%5F%5Fproto%5F%5F="empty-message"']])).toThrow(expect.objectContaining({ code: 'invalid-ao-types' }))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses a part nested deeper than 64 keys (400), before building anything', () => {
    const deep = hbsigBody(B, [[`content-disposition: form-data;name="${Array(20_000).fill('a').join('/')}"`, 'x: 1']])
    expect(() => decodeHttpsigMessage([['content-type', contentType]], deep)).toThrow(expect.objectContaining({ code: 'invalid-multipart' }))
    const fine = hbsigBody(B, [[`content-disposition: form-data;name="${Array(64).fill('a').join('/')}"`, 'x: 1']])
    let value = decodeHttpsigMessage([['content-type', contentType]], fine) as Record<string, unknown>
    for (let depth = 0; depth < 64; depth++) value = value.a as Record<string, unknown>
    expect(value).toEqual({ x: '1' })
  })
})

describe('what a signed request commits', () => {
  const covered = (...names: string[]) => new Set(names)

  it('a multipart body signed through content-digest and content-type: its parts are the keys, framing is not', () => {
    const body = hbsigBody(B, [['ao-types: d="integer"', 'content-disposition: form-data;name="nested"', 'd: 4']])
    const fields = { 'content-type': contentType, 'content-length': String(body.length), 'content-digest': 'sha-256=:x:', greeting: 'hi' }
    const signed = signedRequestKeys(covered('@path', 'content-digest', 'content-length', 'content-type', 'greeting'), fields, body)
    expect(signed).toEqual({ keys: { greeting: 'hi', nested: { d: 4 } }, bodyKey: 'body', bodyKeys: ['nested'] })
    // The boundary must be signed: an unsigned content-type leaves the body one opaque key.
    const unsigned = signedRequestKeys(covered('content-digest'), fields, body)
    expect(unsigned.keys).toEqual({ body })
    expect(boundaryOf(contentType)).toBe(B)
  })

  it('a body typed by the signed ao-types (hbsig sends {body: 3.14} so), else bytes, text for text/*', () => {
    const text = new TextEncoder().encode('3.14000000000000012434e+00')
    const fields = { 'ao-types': 'body="float", data="float"', data: '3.14000000000000012434e+00' }
    expect(signedRequestKeys(covered('ao-types', 'content-digest', 'data'), fields, text).keys).toEqual({ body: 3.14, data: 3.14 })
    expect(signedRequestKeys(covered('content-digest'), {}, text).keys).toEqual({ body: text })
    expect(signedRequestKeys(covered('content-digest'), { 'content-type': 'text/plain' }, text).keys).toEqual({ body: '3.14000000000000012434e+00' })
    // Not covered: no body at all.
    expect(signedRequestKeys(covered('ao-types', 'data'), fields, text)).toEqual({ keys: { data: 3.14 }, bodyKey: 'body', bodyKeys: [] })
  })
})
