// The rules kept in one place: core/keys.ts, core/assert.ts, core/bytes.ts (portable = Buffer).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { optionalList, optionalNumber, optionalString, optionalStrings, requireString } from '../../core/assert.js'
import {
  base64UrlBytes, indexOfBytes, latin1Slice, portableFromBase64Url, portableIndexOf, portableToBase64Url, toBase64Url, toHex, utf8ByteLength,
} from '../../core/bytes.js'
import { CONTROL_KEYS, isPrivateKey, isTransportHeader, PATH_ONLY_KEYS, REPLY_OPTION_KEYS } from '../../core/keys.js'

const root = join(import.meta.dirname, '../..')
const rule = { device: 'test', code: 'invalid-thing' }

describe('core/keys.ts', () => {
  it('names private, control, reply-option keys and transport headers', () => {
    expect(isPrivateKey('priv-x')).toBe(true)
    expect(isPrivateKey('private')).toBe(true)
    expect(isPrivateKey('prize')).toBe(false)
    expect([...PATH_ONLY_KEYS].every((k) => CONTROL_KEYS.has(k))).toBe(true)
    expect(CONTROL_KEYS.has('commitments')).toBe(true)
    expect(REPLY_OPTION_KEYS).toContain('accept-codec')
    expect(isTransportHeader('accept-language')).toBe(true)
    expect(isTransportHeader('x-forwarded-for')).toBe(true)
    expect(isTransportHeader('hello')).toBe(false)
  })

  it('no file outside core/keys.ts tests the private prefix by hand', () => {
    const offenders: string[] = []
    const walk = (dir: string) => {
      for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
        const rel = `${dir}/${e.name}`
        if (e.isDirectory()) walk(rel)
        else if (e.name.endsWith('.ts') && rel !== 'core/keys.ts' && readFileSync(join(root, rel), 'utf8').includes("startsWith('priv')")) offenders.push(rel)
      }
    }
    for (const dir of ['core', 'devices', 'node']) walk(dir)
    expect(offenders).toEqual([])
  })

  it('RSA-PSS is set up in one place (identity/algorithms.ts)', () => {
    const users: string[] = []
    const walk = (dir: string) => {
      for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
        const rel = `${dir}/${e.name}`
        if (e.isDirectory()) walk(rel)
        else if (e.name.endsWith('.ts') && readFileSync(join(root, rel), 'utf8').includes('RSA_PKCS1_PSS_PADDING')) users.push(rel)
      }
    }
    for (const dir of ['core', 'identity', 'devices', 'node']) walk(dir)
    expect(users).toEqual(['identity/algorithms.ts'])
  })

  it('core/ mentions no Buffer outside core/bytes.ts (it runs without Node)', () => {
    const offenders = readdirSync(join(root, 'core')).filter((f) => f.endsWith('.ts') && f !== 'bytes.ts')
      .filter((f) => /(?<!Array)Buffer\b/.test(readFileSync(join(root, 'core', f), 'utf8').replace(/ArrayBuffer/g, '')))
    expect(offenders).toEqual([])
  })
})

describe('core/assert.ts', () => {
  it('reads typed values and their text forms', () => {
    expect(optionalNumber({ n: 3 }, 'n', rule)).toBe(3)
    expect(optionalNumber({ n: '2.5' }, 'n', rule)).toBe(2.5)
    expect(optionalNumber({}, 'n', rule)).toBeUndefined()
    expect(optionalString({ s: 'x' }, 's', rule)).toBe('x')
    expect(requireString({ s: 'x' }, 's', rule)).toBe('x')
    expect(optionalList({ l: '[1,2]' }, 'l', rule)).toEqual([1, 2])
    expect(optionalStrings({ l: 'one' }, 'l', rule)).toEqual(['one'])
    expect(optionalStrings({ l: ['a', 'b'] }, 'l', rule)).toEqual(['a', 'b'])
  })

  it('refuses with the rule\'s code, naming the key', () => {
    const refusal = { status: 400, code: 'invalid-thing' }
    expect(() => optionalNumber({ n: 'ten' }, 'n', rule)).toThrow(expect.objectContaining(refusal))
    expect(() => optionalNumber({ n: 'ten' }, 'n', rule)).toThrow(/test: "n" must be a number/)
    expect(() => optionalString({ s: 1 }, 's', rule)).toThrow(expect.objectContaining(refusal))
    expect(() => requireString({}, 's', rule)).toThrow(/"s" is required/)
    expect(() => optionalList({ l: '{' }, 'l', rule)).toThrow(expect.objectContaining(refusal))
    expect(() => optionalList({ l: 5 }, 'l', rule)).toThrow(/must be a list/)
    expect(() => optionalStrings({ l: [1] }, 'l', rule)).toThrow(expect.objectContaining(refusal))
  })
})

describe('core/bytes.ts: the portable code gives what the Buffer path gives', () => {
  it('base64url both ways, hex, indexOf, latin1, UTF-8 length', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.string(), (bytes, needle, text) => {
      const b64 = toBase64Url(bytes)
      expect(portableToBase64Url(bytes)).toBe(b64)
      expect(portableFromBase64Url(b64)).toEqual(base64UrlBytes(b64))
      expect(toHex(bytes)).toBe(Buffer.from(bytes).toString('hex'))
      expect(portableIndexOf(bytes, needle)).toBe(indexOfBytes(bytes, needle))
      expect(latin1Slice(bytes, 0, bytes.length)).toBe(Buffer.from(bytes).toString('latin1'))
      expect(utf8ByteLength(text)).toBe(new TextEncoder().encode(text).length)
    }), { numRuns: 300 })
  })
})
