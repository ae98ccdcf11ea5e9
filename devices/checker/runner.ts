/**
 * @module
 * The checking loop of a node started with `--check-peers RATE`: poll the router's feed of
 * relayed results (a signed poll), pick the ones the HMAC selects, re-execute each on this
 * node's engine (check.ts), store each fault proof and gap record in the shared ledger under
 * its own key (`fault/<node>/<proof ID>`, `gap/<node>/<record ID>`, the document itself by ID),
 * and send the outcomes to the router in a signed report. One check at a time (a check costs
 * one inference); a backlog beyond `MAX_BACKLOG` is dropped and counted, never queued without
 * bound. Never throws into the node: failures are logged and counted.
 */
import { randomBytes } from 'node:crypto'
import { toJson } from '../../core/json.js'
import { loadMessage, messageWrites } from '../../core/ledger.js'
import { idOf } from '../../core/id.js'
import type { Resolver } from '../../core/resolve.js'
import type { HttpClient, Logger, Message, Signer } from '../../core/types.js'
import type { Attestor } from '../attest/index.js'
import { signCheck, type CheckMessage, type CheckOutcome, type FeedEntry } from '../router/index.js'
import { checkReceipt, selected } from './check.js'

export const MAX_BACKLOG = 512
const POLL_MS = 250

export interface CheckerOptions {
  readonly rate: number
  readonly router: string
  readonly signer: Signer
  readonly http: HttpClient
  readonly log: Logger
  readonly resolver: Resolver
  readonly attestor: Attestor
  /** The HMAC key that picks results (default: 32 random bytes per start). */
  readonly secret?: Uint8Array
}

export interface CheckerStats {
  seen: number
  selected: number
  checked: number
  agreed: number
  faults: number
  gaps: number
  skipped: number
  errors: number
  /** The last outcomes other than agreement (newest last, at most 16): the documents' IDs in the shared ledger. */
  recent: Array<{ node: string; outcome: 'fault' | 'gap'; id: string; fields?: readonly string[] }>
}

export interface Checker {
  start(): void
  stop(): Promise<void>
  stats(): Readonly<CheckerStats>
}

export function createChecker(opts: CheckerOptions): Checker {
  const secret = opts.secret ?? new Uint8Array(randomBytes(32))
  const base = opts.router.replace(/\/+$/, '')
  const stats: CheckerStats = { seen: 0, selected: 0, checked: 0, agreed: 0, faults: 0, gaps: 0, skipped: 0, errors: 0, recent: [] }
  const backlog: FeedEntry[] = []
  let after = 0
  let lastTime = 0
  let stopped = true
  let running: Promise<void> | undefined

  const send = async (path: string, message: CheckMessage): Promise<unknown> => {
    lastTime = Math.max(Date.now(), lastTime + 1)
    const res = await opts.http.fetch(`${base}/~router@1.0/${path}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await signCheck(opts.signer, message, lastTime)), signal: AbortSignal.timeout(10_000),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${path}: ${res.status} ${text.slice(0, 300)}`)
    return JSON.parse(text) as unknown
  }

  async function poll(): Promise<void> {
    const out = await send('results', { kind: 'poll', after }) as { entries: FeedEntry[]; next: number }
    after = out.next
    for (const entry of out.entries) {
      if (entry.node === opts.signer.address) continue
      stats.seen++
      if (!selected(secret, entry.result, opts.rate)) continue
      stats.selected++
      if (backlog.length >= MAX_BACKLOG) stats.skipped++
      else backlog.push(entry)
    }
  }

  /** Checks one entry; the outcome to report, or undefined when it could not be checked. */
  async function checkOne(entry: FeedEntry): Promise<CheckOutcome | undefined> {
    const store = opts.resolver.store
    const receipt = await loadMessage(store, entry.receipt)
    // The feed is the router's word; the receipt must say the same, or there is nothing to hold anyone to.
    if (receipt.result !== entry.result || receipt.hashpath !== entry.hashpath) {
      stats.skipped++
      return undefined
    }
    const verdict = await checkReceipt(opts.resolver, opts.attestor, receipt, opts.signer.address)
    stats.checked++
    const common = { node: entry.node, result: entry.result, hashpath: entry.hashpath, 'model-sha256': String(receipt['model-sha256']) }
    if (verdict.outcome === 'agree') {
      stats.agreed++
      return { ...common, outcome: 'agree' }
    }
    const doc: Message = verdict.outcome === 'fault' ? verdict.proof : verdict.gap
    const id = idOf(doc)
    await store.batch([...messageWrites([doc]), { type: 'put', key: `${verdict.outcome === 'fault' ? 'fault' : 'gap'}/${entry.node}/${id}`, value: new TextEncoder().encode(id) }])
    stats.recent.push({ node: entry.node, outcome: verdict.outcome, id, ...(verdict.outcome === 'gap' ? { fields: verdict.fields } : {}) })
    if (stats.recent.length > 16) stats.recent.shift()
    if (verdict.outcome === 'fault') {
      stats.faults++
      opts.log.warn({ node: entry.node, hashpath: entry.hashpath, proof: id }, 'checker: fault proven')
      return { ...common, outcome: 'fault', proof: toJson(verdict.proof), 'proof-id': id }
    }
    stats.gaps++
    opts.log.info({ node: entry.node, fields: verdict.fields, gap: id }, 'checker: determinism gap (different profile)')
    return { ...common, outcome: 'gap', 'gap-id': id, fields: verdict.fields }
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      try {
        await poll()
        const outcomes: CheckOutcome[] = []
        while (!stopped && backlog.length > 0 && outcomes.length < 16) {
          const entry = backlog.shift()!
          try {
            const o = await checkOne(entry)
            if (o !== undefined) outcomes.push(o)
          } catch (err) {
            stats.errors++
            opts.log.warn({ node: entry.node, hashpath: entry.hashpath, err: (err as Error).message }, 'checker: check failed')
          }
        }
        if (outcomes.length > 0) await send('checks', { kind: 'report', outcomes })
      } catch (err) {
        stats.errors++
        opts.log.warn({ router: base, err: (err as Error).message }, 'checker: router unreachable or refused')
      }
      if (backlog.length === 0) await new Promise((r) => setTimeout(r, POLL_MS).unref?.())
    }
  }

  return {
    start() {
      if (!stopped) return
      stopped = false
      running = loop()
    },
    async stop() {
      stopped = true
      await running
    },
    stats: () => ({ ...stats, recent: [...stats.recent] }),
  }
}
