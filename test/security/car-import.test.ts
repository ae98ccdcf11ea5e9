/**
 * Issue 11, item 8 (CAR part): a CAR whose block bytes do not match its CID, a broken record
 * seal and a junk manifest were each a 500. Now every refusal is a 4xx with a stable code and
 * no internal path, decided before anything is written (devices/replay/import.ts): the ledger
 * is unchanged after each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeCanonical, encodeCanonical, encodeMessage } from '../../core/codec.js'
import { encodeStep, type StepRecord } from '../../core/ledger.js'
import { idOf } from '../../core/id.js'
import { commitMessage } from '../../devices/message/commit.js'
import { MANIFEST_KIND } from '../../devices/replay/car.js'
import { createWallet, type Wallet } from '../../identity/keys.js'
import { carOf, chainParts, manifestOf } from './helpers/forged-car.js'
import { ledgerNode, q, type LedgerNode } from './helpers/ledger-nodes.js'

const PATH = '/~message@1.0&a=1/set&b=2/set&c=3/c'
let n: LedgerNode
let attacker: Wallet
let parts: Awaited<ReturnType<typeof chainParts>>
beforeAll(async () => {
  n = await ledgerNode({ openImport: true })
  attacker = await createWallet('ed25519')
  parts = await chainParts(PATH)
})
afterAll(async () => { await n?.stop() })

/** A CAR of the chain, signed by the attacker, after `alter` changed its parts. */
async function car(alter: { records?: (r: StepRecord[]) => StepRecord[]; recordBytes?: (b: Uint8Array[]) => Uint8Array[]; manifest?: (m: Uint8Array) => Uint8Array; blocks?: (b: Uint8Array[]) => Uint8Array[] } = {}): Promise<Uint8Array> {
  const records = alter.records?.(parts.records.map((r) => ({ ...r }))) ?? parts.records
  const { manifest, recordBlocks } = manifestOf(attacker, parts.hashpath, records, 'export', alter.recordBytes)
  return carOf(alter.manifest?.(manifest) ?? manifest, [...recordBlocks, ...(alter.blocks?.(parts.blocks) ?? parts.blocks)])
}

/** Imports and expects a refusal with `code`, a message without a path, and nothing written. */
async function refused(bytes: Uint8Array, code: string, status = 422): Promise<void> {
  const res = await n.importCar(bytes, { unsigned: true })
  expect(res, JSON.stringify(res.body)).toMatchObject({ status, body: { code } })
  expect(String(res.body.message)).not.toMatch(/\/tmp\/|\/home\/|\/work\/|hashbeam-ledger-/)
  expect((await n.json(`/~replay@1.0/verify&hashpath=${q(parts.hashpath)}`)).body).toMatchObject({ failure: { reason: 'missing-record' } })
}

const flipLast = (bytes: Uint8Array): Uint8Array => { const copy = bytes.slice(); copy[copy.length - 1]! ^= 1; return copy }

describe('CAR import errors (issue 11 item 8)', () => {
  it('the unaltered CAR imports (the baseline every case below alters)', async () => {
    const good = await car()
    const other = await ledgerNode({ openImport: true })
    try {
      expect(await other.importCar(good, { unsigned: true })).toMatchObject({ status: 200, body: { steps: 3, imported: 3 } })
    } finally { await other.stop() }
  })

  it('block bytes that do not match their CID: 422 block-cid-mismatch', async () => {
    const good = await car()
    const at = Buffer.from(good).indexOf(Buffer.from(parts.blocks[0]!)) + parts.blocks[0]!.length - 1
    const bad = good.slice()
    bad[at]! ^= 1
    await refused(bad, 'block-cid-mismatch')
  })

  it('a record whose seal is broken (its block re-addressed, so the CID matches): 422 corrupt-record', async () => {
    // The record's last byte (its `deterministic` flag) flipped, and the manifest names the
    // altered block: it hashes to its CID, decodes, and fails its seal.
    await refused(await car({ recordBytes: (blocks) => [flipLast(blocks[0]!), ...blocks.slice(1)] }), 'corrupt-record')
  })

  it('a junk manifest (not a message, not a manifest, no steps, bad entries): 422 invalid-manifest', async () => {
    await refused(await car({ manifest: () => Uint8Array.from([0x82, 0x01, 0x02]) }), 'invalid-manifest')
    await refused(await car({ manifest: () => encodeCanonical({ kind: 'something-else', hashpath: parts.hashpath }) }), 'invalid-manifest')
    const signed = (fields: Record<string, unknown>) => () => encodeMessage(commitMessage({ kind: MANIFEST_KIND, hashpath: parts.hashpath, ...fields } as never, attacker, 'export'))
    await refused(await car({ manifest: signed({}) }), 'invalid-manifest')
    await refused(await car({ manifest: signed({ steps: [{ hashpath: 1 }] }) }), 'invalid-manifest')
    await refused(await car({ manifest: signed({ pages: ['bafynotapage'] }) }), 'invalid-manifest')
  })

  it('a manifest signature that fails, is missing, or was made for another purpose: 422 invalid-export-signature', async () => {
    const resign = (mutate: (m: Record<string, unknown>) => Record<string, unknown>) => (manifest: Uint8Array) => {
      return encodeCanonical(mutate(decodeCanonical(manifest) as Record<string, unknown>))
    }
    await refused(await car({ manifest: resign((m) => ({ ...m, hashpath: parts.records[1]!.hashpath })) }), 'invalid-export-signature')
    await refused(await car({ manifest: resign(({ commitments: _c, ...m }) => m) }), 'invalid-export-signature')
    const { commitments: _c, ...unsigned } = decodeCanonical(manifestOf(attacker, parts.hashpath, parts.records).manifest) as Record<string, unknown>
    await refused(await car({ manifest: () => encodeCanonical(commitMessage(unsigned as never, attacker, 'commit')) }), 'invalid-export-signature')
  })

  it('records that do not form the manifest\'s chain: a cycle (chain-cycle), a record off the chain or missing (invalid-manifest), a broken link (invalid-chain)', async () => {
    // The first record's base pointed at the last record: a cycle.
    await refused(await car({ records: (r) => [{ ...r[0]!, base: r[2]!.hashpath }, r[1]!, r[2]!] }), 'chain-cycle')
    await refused(await car({ records: (r) => [...r, { ...r[2]!, hashpath: `${idOf({ other: 1 })}/c` }] }), 'invalid-manifest')
    await refused(await car({ records: (r) => r.slice(1) }), 'invalid-manifest')
    // A forged result for the last step whose message is missing from the CAR.
    await refused(await car({ records: (r) => [r[0]!, r[1]!, { ...r[2]!, result: idOf({ forged: true }) }] }), 'invalid-chain')
  })

  it('not a CAR at all, or truncated: 400 invalid-car', async () => {
    await refused(Uint8Array.from([1, 2, 3]), 'invalid-car', 400)
    const good = await car()
    await refused(good.subarray(0, good.length - 10), 'invalid-car', 400)
    expect(encodeStep(parts.records[0]!)).toBeInstanceOf(Uint8Array)
  })
})
