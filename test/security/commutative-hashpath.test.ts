/**
 * Issue 11, item 5: two different computations shared a hashpath. `accumulate-256` adds its parts
 * mod 2^256, so `…/set&acc=1/set&acc=2/acc` and `…/set&acc=2/set&acc=1/acc` get the same hashpath,
 * and the second was answered with the first's cached result.
 *
 * The choice (docs/hashpath.md, "accumulate-256"): such a hashpath names a set of requests, not
 * one computation, so an accumulate-256 step — and every step computed on top of one, even once
 * the base drops `hashpath-alg` — is never answered from the ledger or the in-memory cache. Each
 * path computes its own answer; the first computation's record is kept as evidence, never
 * replaced, and never served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testNode } from '../helpers/node.js'

let node: Awaited<ReturnType<typeof testNode>>
beforeAll(async () => { node = await testNode() })
afterAll(async () => { await node?.stop() })

const get = async (path: string) => {
  const res = await node.app.request(path)
  return { status: res.status, body: await res.text(), hashpath: res.headers.get('hashpath'), cache: res.headers.get('ao-cache') }
}

const BASE = '/~message@1.0&hashpath-alg=accumulate-256'

describe('commutative hashpaths (issue 11 item 5)', () => {
  it('swapped accumulate-256 steps share a hashpath, and each path still computes its own answer', async () => {
    const first = await get(`${BASE}/set&acc=1/set&acc=2/acc`)
    const second = await get(`${BASE}/set&acc=2/set&acc=1/acc`)
    expect(first.hashpath).toBe(second.hashpath) // the algorithm's nature: the sum does not see order
    expect([first.status, first.body]).toEqual([200, '2'])
    expect([second.status, second.body, second.cache]).toEqual([200, '1', 'miss'])
    // Asked again, each still computes (never a hit from the other's record, nor its own).
    expect(await get(`${BASE}/set&acc=1/set&acc=2/acc`)).toMatchObject({ body: '2', cache: 'miss' })
    expect(await get(`${BASE}/set&acc=2/set&acc=1/acc`)).toMatchObject({ body: '1', cache: 'miss' })
  })

  it('steps computed on top of an accumulate-256 step are not answered from the ledger either, even without hashpath-alg', async () => {
    const tail = 'remove&item=hashpath-alg/set&z=0/acc'
    const first = await get(`${BASE}/set&acc=a/set&acc=b/${tail}`)
    const second = await get(`${BASE}/set&acc=b/set&acc=a/${tail}`)
    expect(first.hashpath).toBe(second.hashpath)
    expect([first.body, second.body, second.cache]).toEqual(['b', 'a', 'miss'])
  })

  it('only-if-cached never answers an accumulate-256 step (504)', async () => {
    await get(`${BASE}/set&acc=3/acc`)
    const res = await node.app.request(`${BASE}/set&acc=3/acc`, { headers: { 'cache-control': 'only-if-cached' } })
    expect(res.status).toBe(504)
  })

  it('sha-256-chain steps are still answered from the ledger (order is in the hashpath)', async () => {
    const a = await get('/~message@1.0/set&acc=1/set&acc=2/acc')
    const b = await get('/~message@1.0/set&acc=2/set&acc=1/acc')
    expect(a.hashpath).not.toBe(b.hashpath)
    expect((await get('/~message@1.0/set&acc=1/set&acc=2/acc')).cache).toBe('hit')
  })

  it('the first computation\'s record stays, and verify checks it', async () => {
    const { hashpath } = await get(`${BASE}/set&acc=x/set&acc=y/acc`)
    await get(`${BASE}/set&acc=y/set&acc=x/acc`)
    const res = await node.app.request(`/~replay@1.0/verify&hashpath=${encodeURIComponent(hashpath!)}`, { headers: { accept: 'application/json' } })
    expect(await res.json()).toMatchObject({ valid: true, steps: 3 })
  })
})
