/**
 * Reply codec negotiation (node/negotiate.ts): the lookup for what clients usually send, and
 * `negotiator` (RFC 9110 §12.5.1) for everything else — q-values, specificity, wildcards that
 * keep the default — with explicit codecs still winning and an unknown one a 406.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { chooseCodec } from '../../node/negotiate.js'

const codecFor = (headers: Record<string, string>, keys = {}) => chooseCodec({ get: (name) => headers[name] ?? null }, keys)
const accept = (value: string) => codecFor({ accept: value })

describe('chooseCodec', () => {
  it('answers the usual Accept values by lookup: nothing and */* keep httpsig, one named type picks it', () => {
    expect([accept(''), accept('*/*'), codecFor({})]).toEqual(['httpsig@1.0', 'httpsig@1.0', 'httpsig@1.0'])
    expect([accept('application/json'), accept('application/cbor'), accept('multipart/form-data')]).toEqual(['json@1.0', 'cbor@1.0', 'httpsig@1.0'])
  })

  it('negotiates the rest: q-values, specificity over wildcards, case, parameters', () => {
    expect(accept('text/html;q=0.8, application/json')).toBe('json@1.0')
    expect(accept('application/cbor;q=0.5, application/json;q=0.4')).toBe('cbor@1.0')
    expect(accept('Application/JSON; charset=utf-8')).toBe('json@1.0')
    // A browser's header names nothing we write but */*: the default.
    expect(accept('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe('httpsig@1.0')
    // application/* asks for some application type: JSON, the first offered after the default.
    expect(accept('application/*')).toBe('json@1.0')
    // JSON only at q=0.5 against anything at q=1: the default wins, as RFC 9110 reads it.
    expect(accept('application/json;q=0.5, */*')).toBe('httpsig@1.0')
    expect(accept('application/json;q=0')).toBe('httpsig@1.0')
  })

  it('keeps explicit codecs first, and refuses an unknown one with 406 unsupported-codec', () => {
    expect(codecFor({ accept: 'application/cbor', 'accept-codec': 'json@1.0' })).toBe('json@1.0')
    expect(codecFor({ accept: 'application/cbor' }, { 'require-codec': 'httpsig@1.0' })).toBe('httpsig@1.0')
    for (const name of ['ans104@1.0', 'constructor', '__proto__']) {
      expect(() => codecFor({ 'accept-codec': name }), name).toThrow(expect.objectContaining({ status: 406, code: 'unsupported-codec' }))
    }
    expect(accept('constructor')).toBe('httpsig@1.0')
  })

  it('never throws on any Accept header, and always answers a codec this node writes', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (value) => {
      expect(['httpsig@1.0', 'json@1.0', 'cbor@1.0']).toContain(accept(value))
    }))
  })
})
