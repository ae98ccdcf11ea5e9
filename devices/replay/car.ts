/**
 * @module
 * Moving a chain between nodes as a CAR file (`application/vnd.ipld.car`, via `@ipld/car`).
 *
 * An export holds every block the chain needs — the root message, each step's request and
 * result, and each sealed step record — plus a manifest block (the CAR's root) that says which
 * blocks are step records and which hashpath each one belongs to. Every block is canonical
 * DAG-CBOR addressed by its sha2-256 CID, so an importer checks each block against its hash
 * before storing anything, and a second node can verify and replay the chain offline.
 */
import { CarBlockIterator, CarWriter } from '@ipld/car'
import { sha256 } from '../../core/sha256.js'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { DAG_CBOR_CODE, decodeCanonical, encodeCanonical } from '../../core/codec.js'
import { CorruptionError, InvalidRequestError, NotFoundError } from '../../core/errors.js'
import { toBase64Url } from '../../core/id.js'
import { decodeStep } from '../../core/ledger.js'
import { messageKey, stepKey, type BatchOp, type Store } from '../../core/store.js'
import { chainOf } from '../../core/replay.js'
import type { Resolver } from '../../core/resolve.js'

export const CAR_CONTENT_TYPE = 'application/vnd.ipld.car'
const MANIFEST_KIND = 'hashbeam-chain@1'

const cidOf = (bytes: Uint8Array): CID => CID.createV1(DAG_CBOR_CODE, Digest.create(0x12, sha256(bytes)))

interface Manifest {
  kind: string
  hashpath: string
  root: string
  steps: Array<{ hashpath: string; record: CID }>
}

async function mustGet(store: Store, key: string): Promise<Uint8Array> {
  const bytes = await store.get(key)
  if (bytes === undefined) throw new NotFoundError(`replay: export needs ${key}, which is not in the store`, { code: 'missing-block' })
  return bytes
}

/** The CAR bytes of a chain. */
export async function exportChain(resolver: Resolver, hashpath: string): Promise<Uint8Array> {
  const chain = await chainOf(resolver, hashpath)
  if (chain.length === 0) throw new NotFoundError(`replay: no step record for ${hashpath}`, { code: 'missing-record' })
  const blocks = new Map<string, { cid: CID; bytes: Uint8Array }>()
  const add = (bytes: Uint8Array): CID => {
    const cid = cidOf(bytes)
    blocks.set(cid.toString(), { cid, bytes })
    return cid
  }
  const root = chain[0]?.base ?? ''
  add(await mustGet(resolver.store, messageKey(root)))
  const steps: Manifest['steps'] = []
  for (const record of chain) {
    add(await mustGet(resolver.store, messageKey(record.request)))
    add(await mustGet(resolver.store, messageKey(record.result)))
    steps.push({ hashpath: record.hashpath, record: add(await mustGet(resolver.store, stepKey(record.hashpath))) })
  }
  const manifestCid = add(encodeCanonical({ kind: MANIFEST_KIND, hashpath, root, steps }))
  const { writer, out } = CarWriter.create([manifestCid])
  const collected = (async () => {
    const parts: Uint8Array[] = []
    for await (const part of out) parts.push(part)
    return Buffer.concat(parts)
  })()
  for (const block of blocks.values()) await writer.put(block)
  await writer.close()
  return new Uint8Array(await collected)
}

export interface ImportReport {
  readonly hashpath: string
  readonly blocks: number
  readonly messages: number
  readonly steps: number
}

/** Reads a CAR, checks every block against its CID, then stores messages and step records. */
export async function importChain(store: Store, car: Uint8Array | AsyncIterable<Uint8Array>): Promise<ImportReport> {
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
      if (!cidOf(bytes).equals(cid)) throw new CorruptionError(`replay: block ${cid} does not hash to its CID`, { code: 'corrupt-block' })
      blocks.set(cid.toString(), bytes)
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'corrupt-block' || (err as { code?: string }).code === 'invalid-car') throw err
    throw new InvalidRequestError(`replay: truncated or malformed CAR (${(err as Error).message})`, { code: 'invalid-car', cause: err })
  }
  const manifestBytes = blocks.get(roots[0]?.toString() ?? '')
  if (manifestBytes === undefined) throw new InvalidRequestError('replay: the CAR lacks its manifest block', { code: 'invalid-car' })
  const manifest = decodeCanonical(manifestBytes) as Manifest
  if (manifest?.kind !== MANIFEST_KIND || !Array.isArray(manifest.steps)) throw new InvalidRequestError('replay: the CAR root is not a chain manifest', { code: 'invalid-car' })
  const ops: BatchOp[] = []
  const recordCids = new Set<string>()
  for (const { hashpath, record } of manifest.steps) {
    const bytes = blocks.get(record.toString())
    if (bytes === undefined) throw new InvalidRequestError(`replay: the CAR lacks the record of ${hashpath}`, { code: 'invalid-car' })
    if (decodeStep(bytes).hashpath !== hashpath) throw new CorruptionError(`replay: record for ${hashpath} names another hashpath`, { code: 'corrupt-block' })
    recordCids.add(record.toString())
    ops.push({ type: 'put', key: stepKey(hashpath), value: bytes })
  }
  let messages = 0
  for (const [cid, bytes] of blocks) {
    if (cid === roots[0]?.toString() || recordCids.has(cid)) continue
    ops.push({ type: 'put', key: messageKey(toBase64Url(CID.parse(cid).multihash.digest)), value: bytes })
    messages++
  }
  await store.batch(ops)
  return { hashpath: manifest.hashpath, blocks: blocks.size, messages, steps: manifest.steps.length }
}
