/**
 * Component values against the examples of RFC 9421 §2.1–2.2 (derived components, field
 * combination, `;sf`, `;key`, `;bs`), for origin-form targets with a Host field as a node sees them.
 */
import { describe, expect, it } from 'vitest'
import { componentId, componentValue, type HttpMessageView } from '../../../devices/httpsig/index.js'

const value = (view: HttpMessageView, component: string) => componentValue(view, componentId(component))

describe('derived components (RFC 9421 §2.2)', () => {
  const request: HttpMessageView = {
    method: 'POST', target: '/path?param=value', scheme: 'https', fields: [['Host', 'www.example.com']],
  }

  it('derives method, target URI, authority, scheme, request target, path and query', () => {
    expect(value(request, '@method')).toBe('POST')
    expect(value(request, '@target-uri')).toBe('https://www.example.com/path?param=value')
    expect(value(request, '@authority')).toBe('www.example.com')
    expect(value(request, '@scheme')).toBe('https')
    expect(value(request, '@request-target')).toBe('/path?param=value')
    expect(value(request, '@path')).toBe('/path')
    expect(value(request, '@query')).toBe('?param=value')
  })

  it('gives "?" for an absent query, "/" for an empty path, and drops a default port from the authority', () => {
    const bare: HttpMessageView = { method: 'GET', target: 'http://Example.COM:80', fields: [] }
    expect(value(bare, '@query')).toBe('?')
    expect(value(bare, '@path')).toBe('/')
    expect(value(bare, '@authority')).toBe('example.com')
  })

  it('keeps AO paths byte for byte (no URL re-encoding)', () => {
    const ao: HttpMessageView = { method: 'GET', target: '/~meta@1.0/info&k=(a b)', fields: [['host', 'node']] }
    expect(value(ao, '@path')).toBe('/~meta@1.0/info&k=(a b)')
  })

  it('decodes and re-encodes @query-param values', () => {
    const q: HttpMessageView = {
      method: 'GET', fields: [],
      target: '/parameters?var=this%20is%20a%20big%0Avalue&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something',
    }
    expect(value(q, '"@query-param";name="var"')).toBe('this%20is%20a%20big%0Avalue')
    expect(value(q, '"@query-param";name="bar"')).toBe('with%20plus%20whitespace')
    expect(value(q, '"@query-param";name="fa%C3%A7ade%22%3A%20"')).toBe('something')
    expect(() => value(q, '"@query-param";name="absent"')).toThrow(expect.objectContaining({ code: 'missing-signature-component' }))
  })

  it('gives @status of a response', () => {
    expect(value({ status: 200, fields: [] }, '@status')).toBe('200')
  })
})

describe('HTTP fields (RFC 9421 §2.1)', () => {
  const message: HttpMessageView = {
    fields: [
      ['X-OWS-Header', '   Leading and trailing whitespace.   '],
      ['Cache-Control', 'max-age=60'],
      ['Cache-Control', '   must-revalidate'],
      ['Example-Dict', ' a=1,    b=2;x=1;y=2,   c=(a   b   c)'],
      ['Example-Header', 'value, with, lots'],
      ['Example-Header', 'of, commas'],
      ['Content-Digest', 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,   sha-512=:AQ==:'],
    ],
  }

  it('trims each field line and joins repeated lines with ", "', () => {
    expect(value(message, 'x-ows-header')).toBe('Leading and trailing whitespace.')
    expect(value(message, 'cache-control')).toBe('max-age=60, must-revalidate')
    expect(value(message, 'example-dict')).toBe('a=1,    b=2;x=1;y=2,   c=(a   b   c)')
  })

  it('selects dictionary members with ;key', () => {
    expect(value(message, '"example-dict";key="a"')).toBe('1')
    expect(value(message, '"example-dict";key="b"')).toBe('2;x=1;y=2')
    expect(value(message, '"example-dict";key="c"')).toBe('(a b c)')
    expect(() => value(message, '"example-dict";key="d"')).toThrow(expect.objectContaining({ code: 'missing-signature-component' }))
  })

  it('re-serialises known structured fields with ;sf and refuses unknown ones', () => {
    expect(value(message, '"content-digest";sf')).toBe('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:AQ==:')
    expect(() => value(message, '"example-dict";sf')).toThrow(expect.objectContaining({ code: 'invalid-signature-component' }))
  })

  it('wraps each field line as a byte sequence with ;bs', () => {
    expect(value(message, '"example-header";bs')).toBe(':dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:')
  })
})
