import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isAoError } from '../../core/errors.js'
import { idOf, toCid } from '../../core/id.js'
import { DEFAULT_PATH_LIMITS, parsePath } from '../../core/path.js'
import { finishPlan, parseQuery, planRequest } from '../../core/request.js'

const ID = idOf({ hello: 'world' })

describe('path: segments', () => {
  it('splits keys and drops empty segments', () => {
    expect(parsePath('/a//b/').segments.map((s) => s.key)).toEqual(['a', 'b'])
  })
  it('reads ~device@version with keys as a base segment', () => {
    const [seg] = parsePath('/~message@1.0&hello=world&flag').segments
    expect(seg).toEqual({ device: 'message@1.0', keys: { hello: 'world', flag: true } })
  })
  it('accepts a device without version', () => {
    expect(parsePath('/~gpu-infer/run').segments[0]).toEqual({ device: 'gpu-infer', keys: {} })
  })
  it('reads key~device@version', () => {
    expect(parsePath('/x/info~meta@1.0').segments[1]).toEqual({ key: 'info', device: 'meta@1.0', keys: {} })
  })
  it('takes IDs in both forms as a base and normalises to the AO form', () => {
    expect(parsePath(`/${ID}/hello`).segments[0]).toEqual({ id: ID, keys: {} })
    expect(parsePath(`/${toCid(ID).toString()}/hello`).segments[0]).toEqual({ id: ID, keys: {} })
    expect(parsePath(`/${ID}~message@1.0&a=1/hello`).segments[0]).toEqual({ id: ID, device: 'message@1.0', keys: { a: '1' } })
  })
  it('lower-cases keys and devices (keys are case-insensitive)', () => {
    expect(parsePath('/~Message@1.0&Hello=World/HELLO').segments).toEqual([
      { device: 'message@1.0', keys: { hello: 'World' } },
      { key: 'hello', keys: {} },
    ])
  })
  it('percent-decodes each piece after splitting', () => {
    const [seg] = parsePath('/~m@1.0&a%2Db=c%3Dd%2Fe%26f&x=%28y%29').segments
    expect(seg?.keys).toEqual({ 'a-b': 'c=d/e&f', x: '(y)' })
  })
  it('keys may not hold path syntax, even percent-encoded', () => {
    expect(() => parsePath('/~m@1.0&a%26b=c')).toThrow(expect.objectContaining({ code: 'invalid-key' }))
  })
})

describe('path: typed values', () => {
  it('decodes integer, float, boolean, list and map', () => {
    const [seg] = parsePath('/~m@1.0&i+integer=41&f+float=1.5&b+boolean=true&l+list=1,"two",three&m+map=a=1,b="x"').segments
    expect(seg?.keys).toEqual({ i: 41, f: 1.5, b: true, l: [1, 'two', 'three'], m: { a: 1, b: 'x' } })
  })
  it('accepts a space for + (some encoders turn + into a space)', () => {
    expect(parsePath('/~m@1.0&n%20integer=7').segments[0]?.keys).toEqual({ n: 7 })
  })
  it.each([
    ['n+integer=abc', 'invalid-typed-value'],
    ['n+integer=1.5', 'invalid-typed-value'],
    ['n+integer=99999999999999999999', 'invalid-typed-value'],
    ['n+float=NaN', 'invalid-typed-value'],
    ['n+boolean=maybe', 'invalid-typed-value'],
    ['n+list=?2', 'invalid-typed-value'],
    ['n+map=1=2', 'invalid-typed-value'],
    ['n+widget=1', 'unknown-value-type'],
  ])('rejects %s with %s', (pair, code) => {
    expect(() => parsePath(`/~m@1.0&${pair}`)).toThrow(expect.objectContaining({ status: 400, code }))
  })
})

describe('path: sub-paths', () => {
  it('parses a parenthesised step and a parenthesised value', () => {
    const p = parsePath('/~message@1.0&a=(~message@1.0&b=c/b)/(~message@1.0&path=a)')
    const [base, step] = p.segments
    expect(base?.keys.a).toMatchObject({ kind: 'subpath' })
    expect(step?.sub?.segments[0]).toEqual({ device: 'message@1.0', keys: { path: 'a' } })
  })
  it('does not split on / or & inside parentheses', () => {
    const p = parsePath('/x/(a/b&c=d)/y')
    expect(p.segments).toHaveLength(3)
  })
  it.each(['/a/(b', '/a/b)', '/a/((b)', '/a)(/b'])('rejects unbalanced parentheses in %s', (path) => {
    expect(() => parsePath(path)).toThrow(expect.objectContaining({ status: 400, code: 'unbalanced-parentheses' }))
  })
  it('runaway nesting is a 414 (a limit on what the client wrote)', () => {
    const deep = `/${'('.repeat(40)}x${')'.repeat(40)}`
    expect(() => parsePath(deep)).toThrow(expect.objectContaining({ status: 414, code: 'path-too-deep' }))
  })
})

describe('path: limits and malformed input', () => {
  it('a 513-byte segment is a 400', () => {
    expect(() => parsePath(`/${'a'.repeat(513)}`)).toThrow(expect.objectContaining({ status: 400, code: 'path-segment-too-long' }))
    expect(() => parsePath(`/${'a'.repeat(512)}`)).not.toThrow()
  })
  it('a 10,000-step path is a 414', () => {
    expect(() => parsePath('/a'.repeat(10_000))).toThrow(expect.objectContaining({ status: 414 }))
  })
  it('too many steps within the byte limit is a 414', () => {
    expect(() => parsePath('/a'.repeat(DEFAULT_PATH_LIMITS.maxSteps + 1))).toThrow(expect.objectContaining({ status: 414, code: 'too-many-steps' }))
  })
  it.each([
    ['/%zz', 'invalid-percent-encoding'],
    ['/', 'empty-path'],
    ['/~', 'invalid-device-name'],
    ['/~Bad Name@1', 'invalid-device-name'],
    [`/a/${ID}`, 'misplaced-id'],
    ['/a/~message@1.0', 'misplaced-device'],
    ['/a&=1', 'invalid-key'],
    ['/a%00b', 'invalid-key'],
  ])('%s → %s', (path, code) => {
    expect(() => parsePath(path)).toThrow(expect.objectContaining({ status: 400, code }))
  })
  it('property: throws nothing but typed errors, on any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[/a-z~@&=+().%0-9 ]{0,80}$/)), (text) => {
        try {
          parsePath(text)
        } catch (err) {
          expect(isAoError(err)).toBe(true)
        }
      }),
      { numRuns: 3000 },
    )
  })
})

describe('request plan', () => {
  it('global keys reach every message, N.key only its segment', () => {
    const plan = planRequest(parsePath('/~message@1.0/set/x'), parseQuery('g=1&2.x=v&1.b=base'))
    expect(plan.base).toEqual({ device: 'message@1.0', keys: { g: '1', b: 'base' } })
    expect(plan.steps).toEqual([
      { key: 'set', keys: { g: '1', x: 'v' } },
      { key: 'x', keys: { g: '1' } },
    ])
  })
  it('a first key segment gets an empty base', () => {
    const plan = planRequest(parsePath('/hello'), parseQuery(''))
    expect(plan).toEqual({ base: { keys: {} }, steps: [{ key: 'hello', keys: {} }] })
  })
  it('segment keys win over scoped and global keys', () => {
    const plan = planRequest(parsePath('/~m@1.0&a=seg'), parseQuery('a=global&1.a=scoped'))
    expect(plan.base.keys.a).toBe('seg')
  })
  it('the path alone may set path and as-device', () => {
    expect(() => parseQuery('path=x')).toThrow(expect.objectContaining({ code: 'reserved-key' }))
  })
})

describe('finished plan: reply options taken and signatures attached in the same pass', () => {
  const take = ['stream', 'accept-codec']
  it('takes reply options out of every message; the global value wins over a segment\'s own', () => {
    const { plan, taken } = finishPlan(parsePath('/~message@1.0&stream=seg/a&accept-codec=json@1.0'), parseQuery('stream=true&x=1'), { take })
    expect(taken).toEqual({ stream: 'true', 'accept-codec': 'json@1.0' })
    expect(plan.base.keys).toEqual({ x: '1' })
    expect(plan.steps[0]?.keys).toEqual({ x: '1' })
  })
  it('is the plain plan when nothing is taken or signed', () => {
    const path = parsePath('/~message@1.0&a=1/set&b=2/b')
    const extra = parseQuery('g=1')
    expect(finishPlan(path, extra, {}).plan).toEqual(planRequest(path, extra))
  })
  it('keeps a signed reply option, puts the commitments on every message, refuses a contradicted signed key', () => {
    const commitments = { sig: { type: 'rsa-pss-sha512' } }
    const extra = parseQuery('stream=true&note=hi')
    const { plan, taken } = finishPlan(parsePath('/~message@1.0/note'), extra, { take, committed: { stream: 'true', note: 'hi' }, commitments })
    expect(taken).toEqual({ stream: 'true' })
    expect(plan.base.keys).toEqual({ stream: 'true', note: 'hi', commitments })
    expect(plan.steps[0]?.keys).toEqual({ stream: 'true', note: 'hi', commitments })
    expect(() => finishPlan(parsePath('/~message@1.0&note=other/note'), extra, { take, committed: { note: 'hi' }, commitments }))
      .toThrow(expect.objectContaining({ code: 'committed-key-conflict', detail: { key: 'note' } }))
    expect(() => finishPlan(parsePath('/~message@1.0/note'), extra, { committed: { absent: 'x' }, commitments }))
      .toThrow(expect.objectContaining({ code: 'committed-key-conflict', detail: { key: 'absent' } }))
  })
})
