/**
 * What an attacker can build offline: chains computed on a scratch store and then altered, CAR
 * files assembled block by block, manifests signed with the attacker's own key (or any tag).
 * Used by the ledger tests and the attacker script's CAR rows.
 */
import { CarWriter } from '@ipld/car'
import { encodeCanonical, encodeMessage } from '../../../core/codec.js'
import { idOf } from '../../../core/id.js'
import { encodeStep, loadStep, type StepRecord } from '../../../core/ledger.js'
import { asResultMessage } from '../../../core/message.js'
import { createRegistry } from '../../../core/registry.js'
import { createResolver, type Resolver } from '../../../core/resolve.js'
import { messageKey, stepKey } from '../../../core/store.js'
import type { Message, Value } from '../../../core/types.js'
import { commitMessage, type CommitmentTag } from '../../../devices/message/commit.js'
import { messageDevice } from '../../../devices/message/index.js'
import { MANIFEST_KIND, cidOf, exportChain } from '../../../devices/replay/car.js'
import { memoryStore } from '../../../devices/store/backends/memory.js'
import { builtinImplementation } from '../../../devices/index.js'
import { buildInfo } from '../../../node/build-info.js'
import { walletAddress, type Wallet } from '../../../identity/keys.js'
import { signerOf } from '../../helpers/export-signer.js'
import { memoryLogger } from '../../helpers/log.js'

/** A CAR whose root is `root` and which holds `blocks` too (each addressed by its own bytes). */
export async function carOf(root: Uint8Array, blocks: readonly Uint8Array[]): Promise<Uint8Array> {
  const { writer, out } = CarWriter.create([cidOf(root)])
  const collected = (async () => {
    const parts: Uint8Array[] = []
    for await (const part of out) parts.push(part)
    return new Uint8Array(Buffer.concat(parts))
  })()
  for (const bytes of [root, ...blocks]) await writer.put({ cid: cidOf(bytes), bytes })
  await writer.close()
  return collected
}

/** The implementation a node of this version names for its built-ins (and exports). */
const BUILTIN = builtinImplementation(buildInfo())

/** A scratch resolver (message@1.0 only, as this version names it) on a memory store: what an attacker runs at home. */
export function scratch(): Resolver {
  return createResolver({ registry: createRegistry([{ ...messageDevice(), implementation: BUILTIN }]), store: memoryStore(), log: memoryLogger() })
}

/** The records of a path's chain on a scratch resolver, root first, and its messages' bytes. */
export async function chainParts(path: string): Promise<{ resolver: Resolver; hashpath: string; records: StepRecord[]; blocks: Uint8Array[] }> {
  const resolver = scratch()
  const { hashpath } = await resolver.resolve(path)
  const records: StepRecord[] = []
  for (let at: string | undefined = hashpath; at !== undefined;) {
    const record: StepRecord = (await loadStep(resolver.store, at))!
    records.unshift(record)
    at = record.base.includes('/') ? record.base : undefined
  }
  const ids = new Set([records[0]!.base, ...records.flatMap((r) => [r.request, r.result])])
  const blocks = await Promise.all([...ids].map(async (id) => (await resolver.store.get(messageKey(id)))!))
  return { resolver, hashpath, records, blocks }
}

/** A manifest over `records` (each re-stamped with the signer as writer), signed with `tag`. */
export function manifestOf(
  wallet: Wallet, hashpath: string, records: readonly StepRecord[], tag: CommitmentTag = 'export',
  alterBlocks: (blocks: Uint8Array[]) => Uint8Array[] = (blocks) => blocks,
): { manifest: Uint8Array; recordBlocks: Uint8Array[] } {
  const recordBlocks = alterBlocks(records.map((r) => encodeStep({ ...r, writer: walletAddress(wallet) })))
  const unsigned: Message = {
    kind: MANIFEST_KIND, hashpath, root: records[0]?.base ?? '', count: records.length,
    steps: records.map((r, i) => ({ hashpath: r.hashpath, record: cidOf(recordBlocks[i]!).toString(), implementation: BUILTIN })),
  }
  return { manifest: encodeCanonical(commitMessage(unsigned, wallet, tag)), recordBlocks }
}

/** A CAR of a path's chain signed by `wallet`, its record blocks and manifest altered on the way. */
export async function alteredCar(wallet: Wallet, path: string, alter: {
  records?: (r: StepRecord[]) => StepRecord[]; recordBytes?: (b: Uint8Array[]) => Uint8Array[]; manifest?: (m: Uint8Array) => Uint8Array
} = {}): Promise<Uint8Array> {
  const parts = await chainParts(path)
  const records = alter.records?.(parts.records.map((r) => ({ ...r }))) ?? parts.records
  const { manifest, recordBlocks } = manifestOf(wallet, parts.hashpath, records, 'export', alter.recordBytes)
  return carOf(alter.manifest?.(manifest) ?? manifest, [...recordBlocks, ...parts.blocks])
}

/**
 * The forgery: `/~message@1.0&balance=100/balance` answering `forged` instead of 100.
 * The chain is computed honestly on a scratch store, then its result is swapped for the forged
 * one (a record whose seal anyone can recompute), and exported signed by `wallet`.
 */
export async function forgedBalanceCar(wallet: Wallet, forged: Value = '1000000', balance = '100'): Promise<{ car: Uint8Array; hashpath: string; path: string }> {
  const path = `/~message@1.0&balance=${balance}/balance`
  const resolver = scratch()
  const { hashpath } = await resolver.resolve(path)
  const honest = (await loadStep(resolver.store, hashpath))!
  const result = asResultMessage(forged)
  await resolver.store.put(messageKey(idOf(result)), encodeMessage(result))
  await resolver.store.put(stepKey(hashpath), encodeStep({ ...honest, result: idOf(result) }))
  return { car: await exportChain(resolver, hashpath, signerOf(wallet)), hashpath, path }
}
