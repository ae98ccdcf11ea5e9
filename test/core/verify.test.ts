/**
 * verifyHashpath (core/verify.ts): one backward pass that must report exactly what a walk back
 * to the root followed by a forward check would. The rules the report follows:
 *
 * - a broken walk back (missing, damaged or misplaced step record) wins over every step
 *   failure: `steps: 0`, no `step`, the hashpath whose record was being read — the one nearest
 *   the END of the chain, since that is the first one met walking back;
 * - otherwise the failing step nearest the ROOT is reported (0 = the root message), and within
 *   one step: request, hashpath link, record consistency, then the step's result message.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { idOf } from '../../core/id.js'
import { decodeStep, encodeStep, stepWrites, type StepRecord } from '../../core/ledger.js'
import { nextHashpath } from '../../core/hashpath.js'
import { createRegistry } from '../../core/registry.js'
import { createResolver } from '../../core/resolve.js'
import { messageKey, stepKey, type Store } from '../../core/store.js'
import type { Logger, Message, Value } from '../../core/types.js'
import { verifyHashpath, type VerifyFailureReason, type VerifyReport } from '../../core/verify.js'
import { messageDevice } from '../../devices/message/index.js'
import { memoryStore } from '../../devices/store/backends/memory.js'

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent }

/** A chain built by the resolver; index k of `hashpaths`/`records` is step k (0 = the root). */
interface Chain {
  readonly store: Store
  readonly root: string
  /** hashpaths[0] is the root ID, hashpaths[k] the output hashpath of step k. */
  readonly hashpaths: readonly string[]
  /** records[k] is step k's record; records[0] is unused. */
  readonly records: readonly StepRecord[]
  /** The hashpath of the last step: what is verified. */
  readonly last: string
}

/**
 * Builds `steps` `set` steps from `{device, n: 0}`. Step i sets `n: i`, so every request
 * `{path: 'set', n: i}` and every result `{device, n: i}` is a distinct message: a damage to one
 * of them hits exactly one step (a result of step k is also step k+1's base, but step k fails
 * first). `lastExtra` adds keys to the last request; `rootExtra` to the root.
 */
async function buildChain(steps: number, opts: { lastExtra?: Message; rootExtra?: Message } = {}): Promise<Chain> {
  const store = memoryStore()
  const resolver = createResolver({ registry: createRegistry([messageDevice()]), store, log: silent })
  let value: Value = { device: 'message@1.0', n: 0, ...opts.rootExtra }
  const root = idOf(value as Message)
  let hashpath = root
  const hashpaths = [root]
  const records: StepRecord[] = [undefined as unknown as StepRecord]
  for (let i = 1; i <= steps; i++) {
    const req: Message = { path: 'set', n: i, ...(i === steps ? opts.lastExtra : {}) }
    const r = await resolver.step(value as Message, hashpath, req)
    value = r.value
    hashpath = r.hashpath
    hashpaths.push(hashpath)
    records.push(decodeStep((await store.get(stepKey(hashpath)))!))
  }
  return { store, root, hashpaths, records, last: hashpath }
}

/** What a damage hits: the root message, or step k's request, result or record. */
type Target =
  | { readonly part: 'root' }
  | { readonly part: 'request' | 'result' | 'record'; readonly step: number }

/** A deletion, or one byte XORed with a non-zero mask at `offset` (taken modulo the length). */
type Kind = { readonly kind: 'delete' } | { readonly kind: 'flip'; readonly offset: number; readonly mask: number }
type Damage = { readonly target: Target } & Kind

function keyOf(chain: Chain, target: Target): string {
  switch (target.part) {
    case 'root': return messageKey(chain.root)
    case 'request': return messageKey(chain.records[target.step]!.request)
    case 'result': return messageKey(chain.records[target.step]!.result)
    case 'record': return stepKey(chain.hashpaths[target.step]!)
  }
}

async function damage(chain: Chain, d: Damage): Promise<void> {
  const key = keyOf(chain, d.target)
  if (d.kind === 'delete') {
    expect(await chain.store.delete(key)).toBe(true)
    return
  }
  const bytes = Uint8Array.from((await chain.store.get(key))!)
  bytes[d.offset % bytes.length]! ^= d.mask
  await chain.store.put(key, bytes)
}

const del = (target: Target): Damage => ({ target, kind: 'delete' })
const flip = (target: Target, offset = 3, mask = 0x01): Damage => ({ target, kind: 'flip', offset, mask })
const ROOT: Target = { part: 'root' }
const request = (step: number): Target => ({ part: 'request', step })
const result = (step: number): Target => ({ part: 'result', step })
const record = (step: number): Target => ({ part: 'record', step })

/** Replaces step k's record by a re-sealed copy with `changes`: a forgery the seal cannot catch. */
async function forge(chain: Chain, step: number, changes: Partial<StepRecord>): Promise<void> {
  await chain.store.put(stepKey(chain.hashpaths[step]!), encodeStep({ ...chain.records[step]!, ...changes }))
}

/** The report of a step failure: the chain was walked whole, so `steps` and `root` are known. */
function stepFailure(chain: Chain, step: number, reason: VerifyFailureReason): Partial<VerifyReport> {
  return {
    valid: false, hashpath: chain.last, root: chain.root, steps: chain.hashpaths.length - 1, nondeterministic: 0,
    failure: { step, hashpath: chain.hashpaths[step]!, reason, message: expect.any(String) as unknown as string },
  }
}

/** The report of a broken walk back: nothing about the chain is known but where it broke. */
function walkFailure(chain: Chain, at: string, reason: VerifyFailureReason): Partial<VerifyReport> {
  return {
    valid: false, hashpath: chain.last, steps: 0, nondeterministic: 0,
    failure: { hashpath: at, reason, message: expect.any(String) as unknown as string },
  }
}

/** Asserts a report, including that the fields a walk failure cannot know are absent. */
function expectReport(report: VerifyReport, expected: Partial<VerifyReport>): void {
  expect(report).toMatchObject(expected)
  if (expected.failure === undefined) {
    expect(report.failure).toBeUndefined()
  } else if (expected.failure.step === undefined) {
    expect(report.failure).not.toHaveProperty('step')
    expect(report).not.toHaveProperty('root')
  }
}

async function verifyAfter(chain: Chain, damages: readonly Damage[]): Promise<VerifyReport> {
  for (const d of damages) await damage(chain, d)
  return verifyHashpath(chain.store, chain.last)
}

describe('verifyHashpath: an intact chain', () => {
  it('verifies a 6-step chain', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyHashpath(chain.store, chain.last), { valid: true, hashpath: chain.last, root: chain.root, steps: 6, nondeterministic: 0 })
  })

  it('verifies a hashpath in the middle of a chain, counting only the steps up to it', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyHashpath(chain.store, chain.hashpaths[3]!), { valid: true, hashpath: chain.hashpaths[3]!, root: chain.root, steps: 3 })
  })

  it('verifies a one-step chain', async () => {
    const chain = await buildChain(1)
    expectReport(await verifyHashpath(chain.store, chain.last), { valid: true, root: chain.root, steps: 1, nondeterministic: 0 })
  })

  it('verifies a 200-step chain', async () => {
    const chain = await buildChain(200)
    const report = await verifyHashpath(chain.store, chain.last)
    expectReport(report, { valid: true, hashpath: chain.last, root: chain.root, steps: 200, nondeterministic: 0 })
  })

  it('verifies a chain whose root chose accumulate-256 (the link uses the base\'s algorithm)', async () => {
    const chain = await buildChain(5, { rootExtra: { 'hashpath-alg': 'accumulate-256' } })
    expect(chain.records.slice(1).every((r) => r.alg === 'accumulate-256')).toBe(true)
    expectReport(await verifyHashpath(chain.store, chain.last), { valid: true, root: chain.root, steps: 5 })
  })

  it('a final result naming an unknown hashpath-alg is still valid: it is no step\'s base', async () => {
    const chain = await buildChain(5, { lastExtra: { 'hashpath-alg': 'nonsense' } })
    // The resolver produced it (the alg of the *base* is what a step reads).
    expect((await chain.store.get(messageKey(chain.records[5]!.result)))).toBeDefined()
    expectReport(await verifyHashpath(chain.store, chain.last), { valid: true, root: chain.root, steps: 5, nondeterministic: 0 })
  })

  it('counts records flagged non-deterministic, and still verifies them', async () => {
    const chain = await buildChain(6)
    await forge(chain, 2, { deterministic: false })
    await forge(chain, 5, { deterministic: false })
    expectReport(await verifyHashpath(chain.store, chain.last), { valid: true, steps: 6, nondeterministic: 2 })
  })
})

describe('verifyHashpath: message failures name the step', () => {
  it('the root message missing is step 0, named by the root ID', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [del(ROOT)]), stepFailure(chain, 0, 'missing-message'))
  })

  it('the root message corrupt is step 0', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [flip(ROOT)]), stepFailure(chain, 0, 'corrupt-message'))
  })

  it('a missing request fails its step', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [del(request(3))]), stepFailure(chain, 3, 'missing-message'))
  })

  it('a corrupt request fails its step', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [flip(request(3))]), stepFailure(chain, 3, 'corrupt-message'))
  })

  it('a missing result fails the step that produced it, not the next step it is the base of', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [del(result(3))]), stepFailure(chain, 3, 'missing-message'))
  })

  it('a corrupt result fails the step that produced it', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [flip(result(3), 0, 0x80)]), stepFailure(chain, 3, 'corrupt-message'))
  })

  it('the final result missing fails the last step', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [del(result(6))]), stepFailure(chain, 6, 'missing-message'))
  })

  it('the first step\'s request and result count as step 1', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [flip(result(1))]), stepFailure(chain, 1, 'corrupt-message'))
    const other = await buildChain(6)
    expectReport(await verifyAfter(other, [del(request(1))]), stepFailure(other, 1, 'missing-message'))
  })

  it('of several damaged steps, the one nearest the root is reported', async () => {
    const chain = await buildChain(7)
    expectReport(await verifyAfter(chain, [del(request(6)), flip(result(2)), del(result(4))]), stepFailure(chain, 2, 'corrupt-message'))
  })

  it('within one step, the request is checked before the result', async () => {
    const chain = await buildChain(6)
    // Different reasons tell which of the two was reported.
    expectReport(await verifyAfter(chain, [flip(result(4)), del(request(4))]), stepFailure(chain, 4, 'missing-message'))
    const other = await buildChain(6)
    expectReport(await verifyAfter(other, [del(result(4)), flip(request(4))]), stepFailure(other, 4, 'corrupt-message'))
  })

  it('a damaged root wins over every damaged step', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [del(request(1)), flip(ROOT), del(result(6))]), stepFailure(chain, 0, 'corrupt-message'))
  })
})

describe('verifyHashpath: records that disagree with their messages', () => {
  it('a record naming another request breaks its hashpath link', async () => {
    const chain = await buildChain(6)
    // Step 5's request exists and hashes fine, but step 3's hashpath was not made from it.
    await forge(chain, 3, { request: chain.records[5]!.request })
    expectReport(await verifyHashpath(chain.store, chain.last), stepFailure(chain, 3, 'hashpath-mismatch'))
  })

  it('a broken link at the first step (base is the root ID) is reported at step 1', async () => {
    const chain = await buildChain(6)
    await forge(chain, 1, { request: chain.records[2]!.request })
    expectReport(await verifyHashpath(chain.store, chain.last), stepFailure(chain, 1, 'hashpath-mismatch'))
  })

  it('a broken link is reported before its own missing result', async () => {
    const chain = await buildChain(6)
    await forge(chain, 3, { request: chain.records[5]!.request })
    expectReport(await verifyAfter(chain, [del(result(3))]), stepFailure(chain, 3, 'hashpath-mismatch'))
  })

  it('a record naming another key is a record mismatch', async () => {
    const chain = await buildChain(6)
    await forge(chain, 4, { key: 'get' })
    expectReport(await verifyHashpath(chain.store, chain.last), stepFailure(chain, 4, 'record-mismatch'))
  })

  it('a record naming another device is a record mismatch', async () => {
    const chain = await buildChain(6)
    await forge(chain, 2, { device: 'other@1.0' })
    expectReport(await verifyHashpath(chain.store, chain.last), stepFailure(chain, 2, 'record-mismatch'))
  })

  it('a record mismatch is reported before its own missing result', async () => {
    const chain = await buildChain(6)
    await forge(chain, 4, { key: 'get' })
    expectReport(await verifyAfter(chain, [del(result(4))]), stepFailure(chain, 4, 'record-mismatch'))
  })

  it('a missing request is reported before its record mismatch', async () => {
    const chain = await buildChain(6)
    await forge(chain, 4, { key: 'get' })
    expectReport(await verifyAfter(chain, [del(request(4))]), stepFailure(chain, 4, 'missing-message'))
  })

  it('a missing base (the previous step\'s result) fails the earlier step, not the mismatched one', async () => {
    const chain = await buildChain(6)
    await forge(chain, 4, { device: 'other@1.0' })
    expectReport(await verifyAfter(chain, [del(result(3))]), stepFailure(chain, 3, 'missing-message'))
  })

  it('a record claiming another alg at step 1 is a record mismatch (a bare root ID links the same under any alg)', async () => {
    const chain = await buildChain(6)
    await forge(chain, 1, { alg: 'accumulate-256' })
    expectReport(await verifyHashpath(chain.store, chain.last), stepFailure(chain, 1, 'record-mismatch'))
  })

  // The link is computed with the BASE's alg (sha-256-chain here), which matches the recorded
  // hashpath; the record's alg field then disagrees with the base: record-mismatch. Walking
  // back, the base is read one step later, so the link check waits for it.
  it('a record claiming another alg at a later step is a record mismatch, as the forward walk said', async () => {
    const chain = await buildChain(6)
    await forge(chain, 3, { alg: 'accumulate-256' })
    expectReport(await verifyHashpath(chain.store, chain.last), stepFailure(chain, 3, 'record-mismatch'))
  })

  // The mirror case: a record whose hashpath was really computed with the alg it claims, but
  // the base says sha-256-chain. Linking with the base's alg fails the link: hashpath-mismatch.
  it('a record linked under an alg its base did not choose is a broken link, as the forward walk said', async () => {
    const chain = await buildChain(6)
    const original = chain.records[3]!
    const hashpath = nextHashpath(original.base, original.request, 'accumulate-256')
    await chain.store.put(stepKey(hashpath), encodeStep({ ...original, hashpath, alg: 'accumulate-256' }))
    const report = await verifyHashpath(chain.store, hashpath)
    expect(report).toMatchObject({ valid: false, root: chain.root, steps: 3, failure: { step: 3, hashpath, reason: 'hashpath-mismatch' } })
  })

  it('a base naming an unknown hashpath-alg is reported, not thrown', async () => {
    // The resolver refuses such a base, so the one-step chain is written by hand.
    const store = memoryStore()
    const root: Message = { device: 'message@1.0', 'hashpath-alg': 'nonsense', n: 0 }
    const req: Message = { path: 'set', n: 1 }
    const res: Message = { device: 'message@1.0', 'hashpath-alg': 'nonsense', n: 1 }
    const rootId = idOf(root)
    const hashpath = nextHashpath(rootId, idOf(req))
    const rec: StepRecord = {
      hashpath, base: rootId, request: idOf(req), device: 'message@1.0', key: 'set', result: idOf(res), deterministic: true, alg: 'sha-256-chain', writer: '',
    }
    await store.batch(stepWrites([root, req, res], rec))
    const report = await verifyHashpath(store, hashpath)
    expect(report).toMatchObject({ valid: false, root: rootId, steps: 1, failure: { step: 1, hashpath, reason: 'record-mismatch' } })
  })
})

describe('verifyHashpath: a broken walk back wins over every step failure', () => {
  it('a missing record names the hashpath being read, with no step', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [del(record(4))]), walkFailure(chain, chain.hashpaths[4]!, 'missing-record'))
  })

  it('the last record missing names the verified hashpath itself', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [del(record(6))]), walkFailure(chain, chain.last, 'missing-record'))
  })

  it('a record with a flipped byte is a corrupt record', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [flip(record(2), 40, 0x02)]), walkFailure(chain, chain.hashpaths[2]!, 'corrupt-record'))
  })

  it('a record that does not decode at all is a corrupt record', async () => {
    const chain = await buildChain(6)
    await chain.store.put(stepKey(chain.hashpaths[5]!), Uint8Array.of(0xff))
    expectReport(await verifyHashpath(chain.store, chain.last), walkFailure(chain, chain.hashpaths[5]!, 'corrupt-record'))
  })

  it('a sound record stored under another hashpath is a record mismatch of the walk', async () => {
    const chain = await buildChain(6)
    await chain.store.put(stepKey(chain.hashpaths[4]!), (await chain.store.get(stepKey(chain.hashpaths[3]!)))!)
    expectReport(await verifyHashpath(chain.store, chain.last), walkFailure(chain, chain.hashpaths[4]!, 'record-mismatch'))
  })

  it('of several damaged records, the one nearest the end (first met walking back) is reported', async () => {
    const chain = await buildChain(7)
    expectReport(await verifyAfter(chain, [del(record(2)), flip(record(5)), del(record(3))]), walkFailure(chain, chain.hashpaths[5]!, 'corrupt-record'))
  })

  it('a damaged record near the root wins over damaged messages nearer the end', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyAfter(chain, [del(ROOT), flip(request(5)), del(result(6)), del(record(1))]), walkFailure(chain, chain.hashpaths[1]!, 'missing-record'))
  })

  it('a bare root ID has no step record to walk', async () => {
    const chain = await buildChain(3)
    const report = await verifyHashpath(chain.store, chain.root)
    expect(report).toMatchObject({ valid: false, hashpath: chain.root, steps: 0, failure: { hashpath: chain.root, reason: 'missing-record' } })
  })
})

describe('verifyHashpath: limits and bad input', () => {
  it('a chain longer than maxChain is too long, named by the input hashpath', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyHashpath(chain.store, chain.last, 5), walkFailure(chain, chain.last, 'chain-too-long'))
  })

  it('a chain exactly maxChain long verifies', async () => {
    const chain = await buildChain(6)
    expectReport(await verifyHashpath(chain.store, chain.last, 6), { valid: true, steps: 6 })
  })

  it('too long is decided before a damaged record beyond the limit is read', async () => {
    const chain = await buildChain(6)
    await damage(chain, del(record(1)))
    expectReport(await verifyHashpath(chain.store, chain.last, 3), walkFailure(chain, chain.last, 'chain-too-long'))
  })

  it('a damaged record within the limit is reported before the chain is found too long', async () => {
    const chain = await buildChain(6)
    await damage(chain, del(record(5)))
    expectReport(await verifyHashpath(chain.store, chain.last, 3), walkFailure(chain, chain.hashpaths[5]!, 'missing-record'))
  })

  it.each([
    ['not a hashpath'],
    [''],
    [`${'A'.repeat(43)}/a/b`],
    [`${'A'.repeat(43)}/`],
    [`${'A'.repeat(42)}/set`],
  ])('an invalid hashpath %j is reported, not thrown', async (hashpath) => {
    const report = await verifyHashpath(memoryStore(), hashpath)
    expect(report).toMatchObject({ valid: false, hashpath, steps: 0, nondeterministic: 0, failure: { hashpath, reason: 'invalid-hashpath' } })
    expect(report.failure).not.toHaveProperty('step')
  })
})

describe('verifyHashpath: random damage (property)', () => {
  const MAX_STEPS = 12

  const damageOf = (steps: number): fc.Arbitrary<Damage> => {
    const step = fc.integer({ min: 1, max: steps })
    // Messages weigh more than records: a single damaged record hides every message damage.
    const target: fc.Arbitrary<Target> = fc.oneof(
      { arbitrary: fc.constant<Target>(ROOT), weight: 1 },
      { arbitrary: fc.record({ part: fc.constantFrom('request' as const, 'result' as const), step }), weight: 6 },
      { arbitrary: fc.record({ part: fc.constant('record' as const), step }), weight: 1 },
    )
    const kind: fc.Arbitrary<Kind> = fc.oneof(
      fc.constant<Kind>({ kind: 'delete' }),
      fc.record({ kind: fc.constant('flip' as const), offset: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
    )
    return fc.tuple(target, kind).map(([t, k]) => ({ target: t, ...k }))
  }

  const targetId = (t: Target): string => (t.part === 'root' ? 'root' : `${t.part}:${t.step}`)

  const scenario = fc.integer({ min: 1, max: MAX_STEPS }).chain((steps) =>
    fc.tuple(fc.constant(steps), fc.uniqueArray(damageOf(steps), { selector: (d) => targetId(d.target), maxLength: 5 })))

  /** The report the rules predict, computed from the damages alone. */
  function predicted(chain: Chain, damages: readonly Damage[]): Partial<VerifyReport> {
    const records = damages.filter((d) => d.target.part === 'record')
    if (records.length > 0) {
      // Walking back from the end, the highest damaged step is met first.
      const hit = records.reduce((a, b) => ((a.target as { step: number }).step >= (b.target as { step: number }).step ? a : b))
      const step = (hit.target as { step: number }).step
      return walkFailure(chain, chain.hashpaths[step]!, hit.kind === 'delete' ? 'missing-record' : 'corrupt-record')
    }
    if (damages.length === 0) return { valid: true, hashpath: chain.last, root: chain.root, steps: chain.hashpaths.length - 1, nondeterministic: 0 }
    // Step 0 is the root; within a step the request (0) comes before the result (1).
    const order = (t: Target): [number, number] => (t.part === 'root' ? [0, 0] : [t.step, t.part === 'request' ? 0 : 1])
    const hit = damages.reduce((a, b) => {
      const [sa, pa] = order(a.target)
      const [sb, pb] = order(b.target)
      return sa < sb || (sa === sb && pa <= pb) ? a : b
    })
    return stepFailure(chain, order(hit.target)[0], hit.kind === 'delete' ? 'missing-message' : 'corrupt-message')
  }

  it('reports what the forward walk would, for any set of damages', async () => {
    await fc.assert(fc.asyncProperty(scenario, async ([steps, damages]) => {
      const chain = await buildChain(steps)
      const report = await verifyAfter(chain, damages)
      expectReport(report, predicted(chain, damages))
    }), { numRuns: 60 })
  })
})
