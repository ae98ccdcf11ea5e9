/**
 * `ao-types` in both dialects (HyperBEAM/hbsig sf-dictionaries with inline-typed sf-lists, and
 * aoconnect's bare tokens with its non-sf list form), typed decoding, and the 400s for values
 * that do not match their declared type.
 */
import { describe, expect, it } from 'vitest'
import { decodeTypedFields, decodeTypedValue, parseAoTypes } from '../../../devices/httpsig/index.js'

const codeOf = (fn: () => unknown): string => {
  try {
    fn()
    return 'no error'
  } catch (err) {
    return `${(err as { status: number }).status} ${(err as { code: string }).code}`
  }
}

describe('parseAoTypes', () => {
  it('reads HyperBEAM\'s quoted sf-dictionary and aoconnect\'s bare tokens alike', () => {
    expect(parseAoTypes('list="list", num="integer"')).toEqual(new Map([['list', 'list'], ['num', 'integer']]))
    expect(parseAoTypes('num=integer,list=list')).toEqual(new Map([['num', 'integer'], ['list', 'list']]))
  })

  it('percent-decodes escaped keys (hb_escape) and lower-cases them', () => {
    expect(parseAoTypes('my%2fkey="integer"')).toEqual(new Map([['my/key', 'integer']]))
  })

  it('rejects members that are not key=type', () => {
    expect(codeOf(() => parseAoTypes('num=(integer), x'))).toBe('400 invalid-ao-types')
  })
})

describe('decodeTypedValue', () => {
  it('decodes scalars', () => {
    expect(decodeTypedValue('integer', '-42')).toBe(-42)
    expect(decodeTypedValue('float', '1.50000000000000000000e+00')).toBe(1.5)
    expect(decodeTypedValue('atom', 'true')).toBe(true)
    expect(decodeTypedValue('atom', 'false')).toBe(false)
    expect(decodeTypedValue('atom', 'null')).toBeNull()
    expect(decodeTypedValue('atom', 'ok')).toBe('ok')
    expect(decodeTypedValue('boolean', 'true')).toBe(true)
    expect(decodeTypedValue('binary', 'raw text')).toBe('raw text')
  })

  it('decodes the empty types', () => {
    expect(decodeTypedValue('empty-binary', '')).toBe('')
    expect(decodeTypedValue('empty-list', '')).toEqual([])
    expect(decodeTypedValue('empty-message', '')).toEqual({})
  })

  it('decodes hbsig lists: sf-lists of strings with inline types', () => {
    expect(decodeTypedValue('list', '"(ao-type-integer) 1", "two", "(ao-type-atom) true"')).toEqual([1, 'two', true])
  })

  it('decodes aoconnect lists, which are not valid sf-lists', () => {
    expect(decodeTypedValue('list', '(ao-type-integer) 1,(ao-type-binary) a')).toEqual([1, 'a'])
    expect(decodeTypedValue('list', '(ao-type-float) 2.5,(ao-type-binary) x y')).toEqual([2.5, 'x y'])
  })

  it('decodes maps from sf-dictionaries', () => {
    expect(decodeTypedValue('map', 'a=1, b="two", c, d=:AQI=:')).toEqual({ a: 1, b: 'two', c: true, d: Uint8Array.of(1, 2) })
  })

  it('answers 400 for values that contradict their type, and for unknown types', () => {
    expect(codeOf(() => decodeTypedValue('integer', '4.2'))).toBe('400 invalid-typed-value')
    expect(codeOf(() => decodeTypedValue('integer', '9007199254740993'))).toBe('400 invalid-typed-value')
    expect(codeOf(() => decodeTypedValue('float', 'NaN'))).toBe('400 invalid-typed-value')
    expect(codeOf(() => decodeTypedValue('boolean', 'yes'))).toBe('400 invalid-typed-value')
    expect(codeOf(() => decodeTypedValue('map', '(not a dict'))).toBe('400 invalid-typed-value')
    expect(codeOf(() => decodeTypedValue('link', 'abc'))).toBe('400 invalid-ao-types')
  })
})

describe('decodeTypedFields', () => {
  it('types the keys ao-types names, lower-cases every name, consumes ao-types and adds empty keys', () => {
    const message = decodeTypedFields({
      'AO-Types': 'quantity="integer", tags="empty-list", flag="atom"',
      Quantity: '100',
      Flag: 'false',
      recipient: 'Rix7e0HB-8OAaimcoYkxTZB-dStgTOHWUik1DvKD5vM',
    })
    expect(message).toEqual({ quantity: 100, flag: false, tags: [], recipient: 'Rix7e0HB-8OAaimcoYkxTZB-dStgTOHWUik1DvKD5vM' })
  })

  it('leaves fields as text when there is no ao-types', () => {
    expect(decodeTypedFields({ n: '1' })).toEqual({ n: '1' })
  })
})
