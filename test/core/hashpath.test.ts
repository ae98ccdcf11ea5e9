import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hashpathOf, nextHashpath, requestPart, rollingDigest, splitHashpath } from '../../core/hashpath.js'
import { idOf, toBase64Url } from '../../core/id.js'

// Golden vectors: HyperBEAM's sha-256-chain rule computed independently (Python, see
// ../shared/research/hyperbeam.md §3.2), with two real IDs as stand-ins.
const A = 'iK__u54zqDWrJpVVbf3uYvgvG1hxWZM6Tq1zusfGYIw'
const B = 'PDw08yIW-ImV2N3ItIlWQ1wBt2t_H1CGMUOxJjx47HE'
const STEP2 = 'RXK1-GViuHDHn5ST1DjhHY7d6qdSVlZBw3DdkLRRhCw'
const STEP3 = 'tw4SuP84rVuveMuJhFsN6FacQcYhx3QEQguotLq716I'

describe('hashpath: sha-256-chain golden vectors', () => {
  it('a first step appends the key in clear', () => {
    expect(nextHashpath(A, 'quantity')).toBe(`${A}/quantity`)
  })
  it('later steps fold the previous pair, one step late', () => {
    const h2 = nextHashpath(`${A}/quantity`, B)
    expect(h2).toBe(`${STEP2}/${B}`)
    expect(nextHashpath(h2, 'now')).toBe(`${STEP3}/now`)
  })
  it('accumulate-256 adds the two numbers mod 2^256', () => {
    expect(toBase64Url(rollingDigest(`${A}/${B}`, 'accumulate-256'))).toBe('xOw0rsBKoL9A_3MeIodEplQw0sPweOPAf_Ek4QQ_TP0')
  })
  it('a hashpath with two IDs is 87 bytes (HyperBEAM hashpath_test)', () => {
    expect(nextHashpath(`${A}/quantity`, B)).toHaveLength(87)
  })
})

describe('hashpath: request parts', () => {
  it('a bare key request contributes its key name', () => {
    expect(requestPart({ path: 'balance' })).toBe('balance')
  })
  it('a request with content contributes its ID', () => {
    const req = { path: 'balance', who: 'me' }
    expect(requestPart(req)).toBe(idOf(req))
  })
  it('private keys do not count as content', () => {
    expect(requestPart({ path: 'balance', 'priv-token': 'x' })).toBe('balance')
  })
  it('rejects malformed hashpaths with a typed error', () => {
    for (const bad of ['', 'x/y', `${A}/a/b`, `${A}/`, 'short']) {
      expect(() => splitHashpath(bad)).toThrow(expect.objectContaining({ code: 'invalid-hashpath', status: 400 }))
    }
  })
})

describe('hashpath: properties', () => {
  const key = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/)
  it('is deterministic and always two parts', () => {
    fc.assert(fc.property(fc.array(key, { minLength: 1, maxLength: 12 }), fc.dictionary(key, fc.string()), (keys, extra) => {
      const run = () => keys.reduce((hp, k, i) => hashpathOf(hp, i % 2 === 0 ? { path: k } : { path: k, ...extra }), A)
      const once = run()
      expect(run()).toBe(once)
      expect(splitHashpath(once)).toHaveLength(2)
    }))
  })
  it('different chains give different hashpaths', () => {
    fc.assert(fc.property(key, key, key, (a, b, c) => {
      fc.pre(b !== c)
      expect(hashpathOf(hashpathOf(`${A}/${a}`, { path: b }), { path: 'x' })).not.toBe(hashpathOf(hashpathOf(`${A}/${a}`, { path: c }), { path: 'x' }))
    }))
  })
})
