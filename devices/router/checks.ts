/**
 * @module
 * The router's record of correctness (issue 18): the stream of results it relayed (what
 * checkers sample from), each node's checks and proven faults, and the nodes taken out of
 * rotation for a model until the operator clears them.
 *
 * A fault report is believed only as far as it proves itself: the proof must verify offline
 * (devices/replay fault.ts: two signed receipts, same request, hashpath, model and profile,
 * different results), its verifier receipt must be signed by the checker that reports it, and
 * its accused receipt by the node it names. The checker must be admitted (the operator's list):
 * a proof says that one of two keys lied, and the router sides with the admitted checker (a
 * lying checker can bench an honest node until the operator re-executes the proof and clears it;
 * it can never make a wrong answer pass — docs/verification.md).
 */
import { readFileSync } from 'node:fs'
import writeFileAtomic from 'write-file-atomic'
import { ForbiddenError, InvalidRequestError } from '../../core/errors.js'
import { idOf } from '../../core/id.js'
import { fromJson, toJson } from '../../core/json.js'
import { isMessage } from '../../core/message.js'
import type { Message } from '../../core/types.js'
import { verifyDocument } from '../attest/index.js'
import { verifyFaultProof } from '../replay/index.js'
import type { CheckOutcome } from './check-message.js'

/** One relayed inference answer that carried a receipt. */
export interface FeedEntry {
  readonly seq: number
  readonly node: string
  readonly hashpath: string
  readonly result: string
  readonly receipt: string
  readonly model?: string
  readonly time: number
}

export interface NodeChecks {
  readonly checked: number
  readonly agreed: number
  readonly faults: number
  readonly gaps: number
}

/** A node benched for a model: the proof that did it. */
export interface FaultEntry {
  readonly 'model-sha256': string
  readonly 'proof-id': string
  readonly by: string
  readonly at: number
  readonly proof: unknown
}

export interface CheckBook {
  /** Adds a relayed answer to the feed (the newest `FEED_SIZE` are kept). */
  record(entry: Omit<FeedEntry, 'seq' | 'time'>): void
  /** Entries after `after` (at most `limit`) and the sequence number to ask from next. */
  since(after: number, limit?: number): { entries: FeedEntry[]; next: number }
  /** Applies a checker's outcomes; answers what was accepted. */
  report(checker: string, outcomes: readonly CheckOutcome[]): Promise<{ accepted: number; faults: number }>
  /** Whether the node is out of rotation for this model (sha256). */
  benched(address: string, modelSha: string): boolean
  /** The operator's clearing: one model (sha256) or all; answers how many entries were removed. */
  clear(address: string, modelSha?: string): Promise<number>
  stats(address: string): NodeChecks
  faults(address: string): FaultEntry[]
  /** Every proven fault, by node. */
  allFaults(): Record<string, FaultEntry[]>
}

export const FEED_SIZE = 4096
const ZERO: NodeChecks = { checked: 0, agreed: 0, faults: 0, gaps: 0 }

function readFaults(file: string | undefined): Map<string, Map<string, FaultEntry>> {
  const out = new Map<string, Map<string, FaultEntry>>()
  if (file === undefined) return out
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, FaultEntry[]>
    for (const [address, list] of Object.entries(saved)) out.set(address, new Map(list.map((f) => [f['model-sha256'], f])))
  } catch {
    // No file yet: nobody is benched.
  }
  return out
}

const signerOf = async (doc: unknown): Promise<string | undefined> => {
  if (!isMessage(doc)) return undefined
  const v = await verifyDocument(doc)
  return v.valid && v.kind === 'receipt' ? v.address : undefined
}

export interface CheckBookOptions {
  readonly faultsFile?: string
  readonly now?: () => number
  /** The operator's admission list: outcomes about anyone else are ignored (they would grow the book without bound). */
  readonly admits?: (address: string) => boolean
}

export function createCheckBook(opts: CheckBookOptions): CheckBook {
  const now = opts.now ?? Date.now
  const feed: FeedEntry[] = []
  let seq = 0
  const stats = new Map<string, NodeChecks>()
  const faults = readFaults(opts.faultsFile)
  const bump = (address: string, key: keyof NodeChecks) => {
    const s = stats.get(address) ?? ZERO
    stats.set(address, { ...s, checked: s.checked + 1, [key]: s[key] + 1 })
  }
  const persist = async () => {
    if (opts.faultsFile === undefined) return
    const out: Record<string, FaultEntry[]> = {}
    for (const [address, m] of faults) if (m.size > 0) out[address] = [...m.values()]
    await writeFileAtomic(opts.faultsFile, JSON.stringify(out))
  }

  /** A fault outcome, believed only when its proof verifies and names this checker and that node. */
  async function proven(checker: string, o: CheckOutcome): Promise<FaultEntry> {
    const value = fromJson(o.proof, 'proof')
    if (!isMessage(value)) throw new InvalidRequestError('router: a fault outcome carries its proof', { code: 'invalid-fault-proof' })
    const verdict = await verifyFaultProof(value)
    if (!verdict.valid) throw new ForbiddenError('router: the fault proof does not verify', { code: 'fault-not-proven', detail: { checks: verdict.checks.filter((c) => !c.ok).map((c) => c.name) } })
    const [accused, verifier] = await Promise.all([signerOf(value.receipt), signerOf(value['verifier-receipt'])])
    const receipt = value.receipt as Message
    if (verifier !== checker || accused !== o.node || receipt['model-sha256'] !== o['model-sha256']) {
      throw new ForbiddenError('router: the proof must accuse the node named, on the model named, and be signed by the reporting checker', { code: 'fault-not-proven' })
    }
    return { 'model-sha256': o['model-sha256'], 'proof-id': idOf(value), by: checker, at: now(), proof: toJson(value) }
  }

  return {
    record(entry) {
      feed.push({ ...entry, seq: ++seq, time: now() })
      if (feed.length > FEED_SIZE) feed.splice(0, feed.length - FEED_SIZE)
    },
    since(after, limit = 256) {
      const entries = feed.filter((e) => e.seq > after).slice(0, limit)
      // A checker ahead of this router (it restarted) starts again from its newest entry.
      return { entries, next: entries.length === 0 ? Math.min(after, seq) : entries[entries.length - 1]!.seq }
    },
    async report(checker, outcomes) {
      let accepted = 0
      let proved = 0
      for (const o of outcomes) {
        // A checker's word about itself counts for nothing; about a node no operator admitted, neither.
        if (o.node === checker || opts.admits?.(o.node) === false) continue
        if (o.outcome === 'fault') {
          const entry = await proven(checker, o)
          bump(o.node, 'faults')
          const forNode = faults.get(o.node) ?? new Map<string, FaultEntry>()
          if (!forNode.has(entry['model-sha256'])) forNode.set(entry['model-sha256'], entry)
          faults.set(o.node, forNode)
          proved++
        } else bump(o.node, o.outcome === 'agree' ? 'agreed' : 'gaps')
        accepted++
      }
      if (proved > 0) await persist()
      return { accepted, faults: proved }
    },
    benched: (address, modelSha) => faults.get(address)?.has(modelSha) === true,
    async clear(address, modelSha) {
      const forNode = faults.get(address)
      if (forNode === undefined) return 0
      let n = 0
      if (modelSha === undefined) {
        n = forNode.size
        faults.delete(address)
      } else if (forNode.delete(modelSha)) n = 1
      if (n > 0) await persist()
      return n
    },
    stats: (address) => stats.get(address) ?? ZERO,
    faults: (address) => [...(faults.get(address)?.values() ?? [])],
    allFaults: () => Object.fromEntries([...faults].map(([a, m]) => [a, [...m.values()]])),
  }
}
