/**
 * @module
 * Importing a chain exported by another node (car.ts says what an export holds).
 *
 * Nothing is written until everything is checked, in this order, each refusal a 4xx with a
 * stable code and no internal path (docs/http-api.md):
 * 1. the CAR parses and every block hashes to its CID (400 `invalid-car`, 422 `block-cid-mismatch`);
 * 2. the root is a chain manifest, its pages too (422 `invalid-manifest`);
 * 3. the manifest carries exactly one valid native commitment tagged `export` (422
 *    `invalid-export-signature`); its committer is the export's signer;
 * 4. every record the manifest names is present, sealed (422 `corrupt-record`), at the hashpath
 *    the manifest says, and written by the signer (422 `writer-mismatch`);
 * 5. the chain verifies end to end as it would be stored, records and messages from the CAR
 *    first (422 `invalid-chain`, with verify's reason: a cycle is `chain-cycle`), and the records
 *    the manifest names are exactly the chain's.
 * Then messages are written by ID, and each record under its hashpath unless one is already
 * there: an import never replaces a record. Imported records keep the signer as their writer,
 * and the implementation the signed manifest names for them (core/implementation.ts).
 */
import { CarBlockIterator } from '@ipld/car'
import { DAG_CBOR_CODE, decodeMessage } from '../../core/codec.js'
import { InvalidRequestError, UnprocessableError, isAoError } from '../../core/errors.js'
import { toBase64Url } from '../../core/id.js'
import { implementationWrite } from '../../core/implementation.js'
import { decodeStep } from '../../core/ledger.js'
import { isMessage } from '../../core/message.js'
import type { LedgerTrust } from '../../core/resolve.js'
import { messageKey, stepKey, type BatchOp, type Store } from '../../core/store.js'
import type { Message } from '../../core/types.js'
import { verifyHashpath } from '../../core/verify.js'
import { chainWalker, DEFAULT_MAX_CHAIN } from '../../core/walk.js'
import { NATIVE_COMMITMENT_DEVICE, verifyNativeCommitment } from '../message/index.js'
import { CID, MANIFEST_KIND, PAGE_KIND, cidOf } from './car.js'

export interface ImportReport {
  readonly hashpath: string
  /** The address that signed the export: every imported record's writer. */
  readonly signer: string
  /** Whether this node answers from the signer's records (its own, or a `--trust`ed address). */
  readonly trusted?: boolean
  readonly blocks: number
  readonly messages: number
  readonly steps: number
  /** Records written; the others were already in the ledger and were kept. */
  readonly imported: number
  readonly kept: number
}

const refuseWith = (code: string, message: string, detail?: Record<string, unknown>) =>
  new UnprocessableError(`replay: ${message}`, { code, ...(detail === undefined ? {} : { detail }) })

/** Every block of the CAR by CID, each checked against its CID; and the one root. */
async function readBlocks(car: Uint8Array | AsyncIterable<Uint8Array>): Promise<{ root: string; blocks: Map<string, Uint8Array> }> {
  let iterator: CarBlockIterator
  try {
    iterator = car instanceof Uint8Array ? await CarBlockIterator.fromBytes(car) : await CarBlockIterator.fromIterable(car)
  } catch (cause) {
    throw new InvalidRequestError(`replay: not a CAR file (${(cause as Error).message})`, { code: 'invalid-car', cause })
  }
  const roots = await iterator.getRoots()
  if (roots.length !== 1) throw new InvalidRequestError('replay: a chain export has exactly one root (its manifest)', { code: 'invalid-car' })
  const blocks = new Map<string, Uint8Array>()
  try {
    for await (const { cid, bytes } of iterator) {
      if (cid.code !== DAG_CBOR_CODE || cid.multihash.code !== 0x12) throw new InvalidRequestError(`replay: block ${cid} is not dag-cbor/sha2-256`, { code: 'invalid-car' })
      if (!cidOf(bytes).equals(cid)) throw refuseWith('block-cid-mismatch', `block ${cid} does not hash to its CID`, { cid: String(cid) })
      blocks.set(cid.toString(), bytes)
    }
  } catch (err) {
    if (isAoError(err)) throw err
    throw new InvalidRequestError(`replay: truncated or malformed CAR (${(err as Error).message})`, { code: 'invalid-car', cause: err })
  }
  return { root: roots[0]!.toString(), blocks }
}

function decodeBlock(bytes: Uint8Array | undefined, what: string): Message {
  if (bytes === undefined) throw refuseWith('invalid-manifest', `the CAR lacks ${what}`)
  try {
    return decodeMessage(bytes)
  } catch {
    throw refuseWith('invalid-manifest', `${what} is not a message`)
  }
}

interface ManifestEntry {
  readonly hashpath: string
  readonly record: string
  /** The implementation that computed the step, when the exporter recorded one. */
  readonly implementation?: string
}

const entryOf = (value: unknown): ManifestEntry => {
  const entry = value as Message
  if (!isMessage(entry) || typeof entry.hashpath !== 'string' || typeof entry.record !== 'string') {
    throw refuseWith('invalid-manifest', 'a manifest entry is not {hashpath, record}')
  }
  if (entry.implementation !== undefined && (typeof entry.implementation !== 'string' || entry.implementation === '' || entry.implementation.length > MAX_IMPLEMENTATION)) {
    throw refuseWith('invalid-manifest', 'a manifest entry\'s implementation is not a short text')
  }
  return entry as unknown as ManifestEntry
}

/** Longer than any `sha256:<hex>` or `name@version`: a manifest entry is not a place for data. */
const MAX_IMPLEMENTATION = 256

/** The manifest's entries, from its steps or its pages. */
function entriesOf(manifest: Message, blocks: Map<string, Uint8Array>): ManifestEntry[] {
  if (Array.isArray(manifest.steps)) return manifest.steps.map(entryOf)
  if (!Array.isArray(manifest.pages)) throw refuseWith('invalid-manifest', 'the manifest lists neither steps nor pages')
  const entries: ManifestEntry[] = []
  for (const page of manifest.pages) {
    const block = decodeBlock(typeof page === 'string' ? blocks.get(page) : undefined, 'a manifest page')
    if (block.kind !== PAGE_KIND || !Array.isArray(block.steps)) throw refuseWith('invalid-manifest', 'a manifest page is not a page')
    for (const entry of block.steps) entries.push(entryOf(entry))
    if (entries.length > DEFAULT_MAX_CHAIN) throw refuseWith('chain-too-long', `the manifest names more than ${DEFAULT_MAX_CHAIN} records`)
  }
  return entries
}

/** The address that signed the manifest (one valid native commitment tagged `export`). */
function signerOf(manifest: Message): string {
  const commitments = isMessage(manifest.commitments) ? Object.entries(manifest.commitments) : []
  if (commitments.length !== 1) throw refuseWith('invalid-export-signature', 'the manifest must carry exactly one signature (an export commitment)')
  const [id, commitment] = commitments[0]!
  if (!isMessage(commitment) || commitment['commitment-device'] !== NATIVE_COMMITMENT_DEVICE) throw refuseWith('invalid-export-signature', 'the manifest is not signed with a native commitment')
  const check = verifyNativeCommitment(manifest, id, commitment, 'export')
  if (!check.valid) throw refuseWith('invalid-export-signature', `the manifest signature does not verify: ${check.reason ?? 'invalid'}`)
  return commitment.committer as string
}

/**
 * The records the manifest names are exactly the chain of its hashpath, root to end: none
 * missing, none beside it (an export cannot slip in records for other hashpaths).
 */
function onlyTheChain(hashpath: string, records: ReadonlyMap<string, { base: string }>): void {
  const walk = chainWalker(hashpath)
  let at = hashpath
  let found = 0
  for (;;) {
    const record = records.get(at)
    if (record === undefined) throw refuseWith('invalid-manifest', `the manifest does not name the record of ${at.slice(0, 100)}, on the chain`)
    found++
    if (!record.base.includes('/')) break
    at = walk.next(record.base) // a cycle: 422 chain-cycle
  }
  if (found !== records.size) throw refuseWith('invalid-manifest', `the manifest names ${records.size} records, the chain has ${found}`)
}

/** Reads, checks and stores an exported chain; see the module comment for the order. */
export async function importChain(store: Store, car: Uint8Array | AsyncIterable<Uint8Array>, ledger?: LedgerTrust): Promise<ImportReport> {
  const { root, blocks } = await readBlocks(car)
  const manifest = decodeBlock(blocks.get(root), 'its manifest block')
  if (manifest.kind !== MANIFEST_KIND || typeof manifest.hashpath !== 'string') throw refuseWith('invalid-manifest', `the CAR root is not a ${MANIFEST_KIND} manifest`)
  const signer = signerOf(manifest)
  const records = new Map<string, { bytes: Uint8Array; base: string; implementation: string | undefined }>()
  const special = new Set([root, ...(Array.isArray(manifest.pages) ? manifest.pages.map(String) : [])])
  for (const { hashpath, record, implementation } of entriesOf(manifest, blocks)) {
    const bytes = blocks.get(record)
    if (bytes === undefined) throw refuseWith('invalid-manifest', `the CAR lacks the record of ${hashpath.slice(0, 100)}`)
    let decoded
    try {
      decoded = decodeStep(bytes)
    } catch {
      throw refuseWith('corrupt-record', `the record of ${hashpath.slice(0, 100)} fails its seal`, { hashpath: hashpath.slice(0, 200) })
    }
    if (decoded.hashpath !== hashpath) throw refuseWith('corrupt-record', `the record named for ${hashpath.slice(0, 100)} is another hashpath's`)
    if (decoded.writer !== signer) throw refuseWith('writer-mismatch', `the record of ${hashpath.slice(0, 100)} names ${decoded.writer || 'no writer'}, not the export's signer`)
    if (records.has(hashpath)) throw refuseWith('invalid-manifest', `the manifest names ${hashpath.slice(0, 100)} twice`)
    records.set(hashpath, { bytes, base: decoded.base, implementation })
    special.add(record)
  }
  onlyTheChain(manifest.hashpath, records)
  const messages = new Map<string, Uint8Array>()
  for (const [cid, bytes] of blocks) if (!special.has(cid)) messages.set(toBase64Url(CID.parse(cid).multihash.digest), bytes)
  // The chain as it would be stored: the CAR's records and messages first, then what is here.
  const overlay = {
    get: async (key: string) => (key.startsWith('step/') ? records.get(key.slice(5))?.bytes : messages.get(key.slice(4))) ?? store.get(key),
  }
  const report = await verifyHashpath(overlay, manifest.hashpath)
  if (!report.valid) {
    const why = `the exported chain does not verify (${report.failure?.reason}: ${report.failure?.message.slice(0, 200)})`
    if (report.failure?.reason === 'chain-cycle') throw refuseWith('chain-cycle', why, { reason: 'chain-cycle' })
    throw refuseWith('invalid-chain', why, { reason: report.failure?.reason })
  }
  const ops: BatchOp[] = [...messages].map(([id, value]) => ({ type: 'put', key: messageKey(id), value }))
  let imported = 0
  for (const [hashpath, { bytes, implementation }] of records) {
    if (await store.has(stepKey(hashpath))) continue
    ops.push({ type: 'put', key: stepKey(hashpath), value: bytes })
    if (implementation !== undefined) ops.push(implementationWrite(hashpath, implementation))
    imported++
  }
  await store.batch(ops)
  return {
    hashpath: manifest.hashpath, signer,
    ...(ledger === undefined ? {} : { trusted: signer === ledger.self || ledger.trusts(signer) }),
    blocks: blocks.size, messages: messages.size, steps: records.size, imported, kept: records.size - imported,
  }
}
