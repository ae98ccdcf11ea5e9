/**
 * @module
 * Moving a chain between nodes as a CAR file (`application/vnd.ipld.car`, via `@ipld/car`):
 * the export side, and the format both sides share (the import side is import.ts).
 *
 * An export holds every block the chain needs — the root message, each step's request and
 * result, and each sealed step record — plus a manifest block (the CAR's root) that names every
 * record with its hashpath, and the implementation that computed it when one was recorded
 * (core/implementation.ts: the importer's ledger then answers the step only while that code is
 * loaded there). Every block is canonical DAG-CBOR addressed by its sha2-256 CID.
 *
 * The manifest is signed once by the exporting node: a native commitment with the tag `export`
 * (signed bytes `utf8("hashbeam:export\n") ‖ the manifest's unsigned ID`), which covers every
 * record's CID and so every record. That one signature is the export's provenance: writing a
 * step costs no signature, exporting a chain costs one. The exporter stands behind each record it
 * exports — its own, or those of writers it trusts — and writes its address as each exported
 * record's `writer`; a chain holding a record it does not stand behind is refused (422
 * `untrusted-record`: replay the chain first, which promotes the records it reproduces).
 *
 * A manifest of more than MANIFEST_PAGE steps lists pages instead (`pages`: CIDs of page blocks
 * of up to MANIFEST_PAGE entries each), so no block grows with the chain.
 */
import { CarWriter } from '@ipld/car'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { DAG_CBOR_CODE, encodeCanonical } from '../../core/codec.js'
import { NotFoundError, UnprocessableError } from '../../core/errors.js'
import { recordedImplementation } from '../../core/implementation.js'
import { encodeStep } from '../../core/ledger.js'
import { chainOf } from '../../core/replay.js'
import type { Resolver } from '../../core/resolve.js'
import { sha256 } from '../../core/sha256.js'
import { messageKey, type Store } from '../../core/store.js'
import type { Message } from '../../core/types.js'

export const CAR_CONTENT_TYPE = 'application/vnd.ipld.car'
/** Manifests of signed exports; unsigned ones (`hashbeam-chain@1`) are no longer accepted. */
export const MANIFEST_KIND = 'hashbeam-chain@2'
export const PAGE_KIND = 'hashbeam-chain-page@2'
/** Entries in a manifest, or in one page of a paged manifest. */
export const MANIFEST_PAGE = 4_096

/** Signs an export's manifest: the node's address, and its `export`-tagged commitment. */
export interface ExportSigner {
  readonly address: string
  /** The manifest with a native commitment tagged `export` added. */
  sign(manifest: Message): Message
}

export const cidOf = (bytes: Uint8Array): CID => CID.createV1(DAG_CBOR_CODE, Digest.create(0x12, sha256(bytes)))

async function mustGet(store: Store, key: string): Promise<Uint8Array> {
  const bytes = await store.get(key)
  if (bytes === undefined) throw new NotFoundError(`replay: export needs ${key}, which is not in the store`, { code: 'missing-block' })
  return bytes
}

/** The CAR bytes of a chain, its manifest signed by `signer` (paged past `pageSize` steps). */
export async function exportChain(resolver: Resolver, hashpath: string, signer: ExportSigner, pageSize = MANIFEST_PAGE): Promise<Uint8Array> {
  const chain = await chainOf(resolver, hashpath)
  if (chain.length === 0) throw new NotFoundError(`replay: no step record for ${hashpath}`, { code: 'missing-record' })
  const { ledger } = resolver
  const blocks = new Map<string, { cid: CID; bytes: Uint8Array }>()
  const add = (bytes: Uint8Array): CID => {
    const cid = cidOf(bytes)
    blocks.set(cid.toString(), { cid, bytes })
    return cid
  }
  const root = chain[0]?.base ?? ''
  add(await mustGet(resolver.store, messageKey(root)))
  const steps: Message[] = []
  for (const record of chain) {
    if (record.writer !== ledger.self && !ledger.trusts(record.writer)) {
      throw new UnprocessableError(`replay: this node does not stand behind the record of ${record.hashpath} (written by ${record.writer || 'nobody known'}); replay the chain to promote it`, {
        code: 'untrusted-record', detail: { hashpath: record.hashpath, writer: record.writer },
      })
    }
    add(await mustGet(resolver.store, messageKey(record.request)))
    add(await mustGet(resolver.store, messageKey(record.result)))
    const implementation = await recordedImplementation(resolver.store, record.hashpath)
    steps.push({
      hashpath: record.hashpath, record: add(encodeStep({ ...record, writer: signer.address })).toString(),
      ...(implementation === undefined ? {} : { implementation }),
    })
  }
  const unsigned: Message = { kind: MANIFEST_KIND, hashpath, root, count: steps.length }
  if (steps.length <= pageSize) unsigned.steps = steps
  else {
    const pages: string[] = []
    for (let i = 0; i < steps.length; i += pageSize) pages.push(add(encodeCanonical({ kind: PAGE_KIND, steps: steps.slice(i, i + pageSize) })).toString())
    unsigned.pages = pages
  }
  const manifestCid = add(encodeCanonical(signer.sign(unsigned)))
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

export { CID }
