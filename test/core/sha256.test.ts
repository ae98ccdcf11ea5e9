import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromBase64Url, toBase64Url } from '../../core/id.js'
import { sha256, sha256Backend, sha256Base64Url, sha256Hex } from '../../core/sha256.js'

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

describe('sha256: the runtime hash agrees with @noble/hashes', () => {
  it('uses node:crypto where the runtime has a one-shot hash', () => {
    const { hash } = process.getBuiltinModule('node:crypto') as { hash?: unknown }
    expect(sha256Backend).toBe(typeof hash === 'function' ? 'node:crypto' : '@noble/hashes')
  })

  // FIPS 180-2 test vectors.
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ])('vector %j', (text, hex) => {
    const bytes = new TextEncoder().encode(text)
    expect(hexOf(sha256(bytes))).toBe(hex)
    expect(sha256Hex(bytes)).toBe(hex)
    expect(sha256Base64Url(bytes)).toBe(Buffer.from(hex, 'hex').toString('base64url'))
    expect(sha256Base64Url(text)).toBe(Buffer.from(hex, 'hex').toString('base64url'))
  })

  it('gives noble\'s digest for any bytes, in every spelling', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
      const expected = nobleSha256(bytes)
      expect(sha256(bytes)).toEqual(expected)
      expect(sha256Hex(bytes)).toBe(hexOf(expected))
      expect(sha256Base64Url(bytes)).toBe(toBase64Url(expected))
    }), { numRuns: 300 })
  })

  it('hashes a string as its UTF-8 bytes, lone surrogates as U+FFFD like TextEncoder', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => {
      expect(sha256Base64Url(text)).toBe(toBase64Url(nobleSha256(new TextEncoder().encode(text))))
    }), { numRuns: 300 })
  })

  it('returns a plain Uint8Array that owns its 32 bytes', () => {
    const digest = sha256(new Uint8Array([1, 2, 3]))
    expect(Object.getPrototypeOf(digest)).toBe(Uint8Array.prototype)
    expect(digest.byteLength).toBe(32)
    expect(digest.buffer.byteLength).toBe(32)
  })
})

describe('base64url: one spelling per byte string', () => {
  it('round-trips any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes)
    }), { numRuns: 300 })
  })

  it('accepts a text exactly when it is the canonical spelling of its bytes', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const text = fc.array(fc.constantFrom(...alphabet.split(''), '=', '+', '/', ' '), { maxLength: 48 }).map((cs) => cs.join(''))
    fc.assert(fc.property(text, (candidate) => {
      const canonical = /^[A-Za-z0-9_-]*$/.test(candidate) && toBase64Url(Buffer.from(candidate, 'base64url')) === candidate
      let accepted = true
      try {
        fromBase64Url(candidate)
      } catch {
        accepted = false
      }
      expect(accepted).toBe(canonical)
    }), { numRuns: 2000 })
  })

  it('rejects an ID whose last character carries stray bits', () => {
    const id = toBase64Url(sha256(new Uint8Array([7])))
    const last = id.at(-1)!
    const stray = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('').find((c) => c !== last && Buffer.from(id.slice(0, -1) + c, 'base64url').equals(Buffer.from(id, 'base64url')))!
    expect(() => fromBase64Url(id.slice(0, -1) + stray)).toThrow(/not canonical/)
  })
})
