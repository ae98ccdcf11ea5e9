/**
 * @module
 * One job on a worker: take the lease, replay what earlier attempts published, execute, publish
 * tokens beyond that prefix (a few to an entry, dispatch-tokens.ts), then the result (or the
 * error, or a determinism fault), and acknowledge. See dispatch-worker.ts for the loop around it.
 */
import type { Redis } from 'ioredis'
import { encodeMessage, decodeMessage } from '../../core/codec.js'
import { isAoError } from '../../core/errors.js'
import { idOfBytes } from '../../core/id.js'
import type { Message } from '../../core/types.js'
import { GROUP, entryFields, type PoolKeys } from './dispatch-keys.js'
import type { WorkerScripts } from './dispatch-scripts.js'
import { continuation, type Continuation } from './dispatch-stream.js'
import { publisherOf, tokenBatcher, tokenItems } from './dispatch-tokens.js'
import type { PoolWorkerOptions } from './dispatch-worker.js'

/** A job as a worker took it from its lane. */
export interface PoolJob {
  readonly lane: string
  readonly entry: string
  readonly fields: Record<string, string>
  readonly model: string
}

/** Executes a job's step on this node: the result message, its ID, headers, whether the ledger answered. */
export type JobExecutor = (
  job: { base: Message; baseHashpath: string; req: Message },
  /** A token's text, and what else the device streams with it (logprobs). */
  onToken: (text: string, extra?: Record<string, unknown>) => void,
  signal: AbortSignal,
) => Promise<{ id: string; hashpath: string; value: Message; meta: ReadonlyMap<string, string>; cached: boolean }>

interface JobContext {
  readonly command: Redis & WorkerScripts
  readonly keys: PoolKeys
  readonly consumer: string
  readonly options: PoolWorkerOptions
  readonly signal: AbortSignal
  readonly stopping: () => boolean
}

const EVENTS_TTL_MS = 10 * 60_000
const CANCEL_POLL_MS = 100
const fromB64 = (text: string | undefined): Message => decodeMessage(new Uint8Array(Buffer.from(text ?? '', 'base64')))
const toB64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

/** Runs one job; resolves how it ended for the worker's counters. */
export async function runJob(job: PoolJob, jc: JobContext): Promise<'executed' | 'ledger' | 'skipped' | 'failed' | 'cancelled' | 'released'> {
  const { command, keys, consumer, options } = jc
  const { hp, nonce } = job.fields
  const log = options.log.child({ hashpath: hp, entry: job.entry })
  const ack = () => command.multi().xack(job.lane, GROUP, job.entry).xdel(job.lane, job.entry).exec()
  if (hp === undefined || nonce === undefined) {
    log.warn({}, 'pool: dropping a malformed job entry')
    await ack()
    return 'skipped'
  }
  const events = keys.events(hp, nonce)
  // The lease, whether the job was cancelled, and what earlier attempts published: one round trip.
  const opening = await command.pipeline().set(keys.lease(hp), consumer, 'PX', options.leaseMs, 'NX').get(keys.lease(hp))
    .exists(keys.cancel(hp, nonce)).xrange(events, '-', '+').exists(keys.streamed(hp, nonce)).exec()
  const failed = opening?.find(([err]) => err !== null)
  if (opening === null || failed !== undefined) throw failed?.[0] ?? new Error('pool: redis answered nothing')
  if (opening[1]![1] !== consumer) {
    // Another live worker runs this hashpath: its events answer every follower.
    await ack()
    return 'skipped'
  }
  const controller = new AbortController()
  const abortWith = (why: string) => { if (!controller.signal.aborted) controller.abort(new Error(why)) }
  jc.signal.addEventListener('abort', () => abortWith('worker stopping'), { once: true })
  let cancelled = opening[2]![1] === 1
  // Earlier attempts: the text they published (in order, each past the last) and who ran them.
  const history = (opening[3]![1] as Array<[string, string[]]>).map(([, flat]) => entryFields(flat))
  const published = history.flatMap((e) => tokenItems(e)).map((t) => t.text).join('')
  const profile = await options.profile()
  const profileB64 = toB64(encodeMessage(profile))
  let last: Promise<unknown> = command.xadd(events, '*', 'type', 'start', 'worker', options.address, 'profile', profileB64,
    'attempt', String(history.filter((e) => e.type === 'start').length + 1))
  const publish = (...fields: string[]) => {
    last = command.xadd(events, '*', ...fields).catch((err: Error) => abortWith(`redis unreachable: ${err.message}`))
  }
  // Tokens go out only when a client streams (or an earlier run's already did: the prefix stays
  // checked); a job nobody streams costs one entry for its result, not one per token batch.
  const streamed = job.fields.stream !== '0' || opening[4]![1] === 1 || published !== ''
  const tokens = tokenBatcher((fields) => publish(...fields), { held: !streamed })
  const cont = continuation(published)
  let fault: Extract<Continuation, { kind: 'fault' }> | undefined
  const take = (step: Continuation | undefined, whole?: string, extra?: Record<string, unknown>) => {
    if (step?.kind === 'fresh') {
      // What came with the token (logprobs) travels only with the token's whole text.
      tokens.push({ at: step.at, text: step.text, ...(extra !== undefined && step.text === whole ? { extra } : {}) })
    } else if (step?.kind === 'fault') { fault = step; abortWith('determinism fault') }
  }
  // Started here, once everything their callbacks touch exists; the finally below clears them.
  const renew = setInterval(() => {
    command.multi().pexpire(keys.lease(hp), options.leaseMs).xclaim(job.lane, GROUP, consumer, 0, job.entry, 'JUSTID')
      .pexpire(events, EVENTS_TTL_MS).exec()
      .catch(() => abortWith('redis unreachable'))
  }, Math.max(50, Math.floor(options.leaseMs / 3)))
  // A client that left should stop the work soon, not at the next renewal; a client that streams
  // and joined late should get the tokens soon: one MGET per 100 ms.
  const watchCancel = setInterval(() => {
    command.mget(keys.cancel(hp, nonce), keys.streamed(hp, nonce)).then(([cancel, streamed]) => {
      if (streamed !== null) tokens.release()
      if (cancel !== null) { cancelled = true; abortWith('cancelled') }
    }, () => {})
  }, CANCEL_POLL_MS)

  let outcome: 'executed' | 'ledger' | 'failed' | 'cancelled' | 'released' = 'failed'
  try {
    if (cancelled) throw new Error('cancelled')
    const base = fromB64(job.fields.base)
    const req = fromB64(job.fields.req)
    // A job is a gpu-infer run or chat, nothing else: whoever can write to the pool's Redis
    // must not get other keys of this node executed (and recorded under its address).
    if (req.path !== 'run' && req.path !== 'chat') throw new Error(`a pool job must be run or chat, not "${String(req.path).slice(0, 40)}"`)
    const result = await options.execute({ base, baseHashpath: job.fields['base-hashpath'] ?? '', req }, (text, extra) => take(cont.push(text), text, extra), controller.signal)
    if (result.hashpath !== hp) throw new Error(`the step's hashpath ${result.hashpath} is not the job's ${hp}`)
    if (result.cached && typeof result.value.output === 'string') take(cont.push(result.value.output))
    take(cont.finish())
    if (fault !== undefined) throw new Error('determinism fault')
    const bytes = encodeMessage(result.value)
    if (idOfBytes(bytes) !== result.id) throw new Error('the result does not hash to its ID')
    tokens.flush()
    publish('type', 'done', 'id', result.id, 'result', toB64(bytes), 'worker', options.address, 'meta', JSON.stringify(Object.fromEntries(result.meta)))
    outcome = result.cached ? 'ledger' : 'executed'
    log.info({ cached: result.cached, worker: options.address }, result.cached ? 'pool: job answered from the ledger' : 'pool: job executed')
  } catch (err) {
    // The tokens produced so far go before the job's last event (a handed-back job's included:
    // they are its prefix, which the next run must reproduce).
    tokens.flush()
    if (fault !== undefined) {
      // The worker whose published character this run contradicts (after several takeovers,
      // not necessarily the last one that tried).
      const author = publisherOf(history, fault.at)
      const record: Message = {
        type: 'determinism-fault', hashpath: hp, at: fault.at, published: fault.published, reproduced: fault.reproduced,
        workers: [
          { address: author?.worker ?? 'unknown', profile: author?.profile === undefined ? null : fromB64(author.profile) },
          { address: options.address, profile },
        ],
      }
      const id = await options.recordFault(record).catch(() => 'unrecorded')
      await command.multi().lpush(keys.faults, id).ltrim(keys.faults, 0, 999).exec().catch(() => {})
      log.error({ fault: id, at: fault.at, author: author?.worker }, 'pool: determinism fault: the re-execution differs from the text already streamed')
      publish('type', 'fault', 'status', '502', 'code', 'determinism-fault', 'fault', id,
        'message', `pool: determinism fault: the re-execution differs at character ${fault.at} from what ${author?.worker ?? 'an earlier worker'} streamed (fault record ${id})`)
    } else if (jc.stopping() && !cancelled) {
      // Leaving: hand the job back at once (idle time far past any lease) instead of making a peer wait.
      await command.multi().xclaim(job.lane, GROUP, `${consumer}:released`, 0, job.entry, 'IDLE', 1e9, 'JUSTID').del(keys.lease(hp)).exec().catch(() => {})
      outcome = 'released'
    } else if (cancelled) {
      publish('type', 'error', 'status', '408', 'code', 'request-aborted', 'message', 'pool: the job was cancelled (every client left)')
      log.info({}, 'pool: job cancelled')
      outcome = 'cancelled'
    } else {
      const status = isAoError(err) ? err.status : 500
      publish('type', 'error', 'status', String(status), 'code', isAoError(err) ? err.code : 'internal',
        'message', isAoError(err) ? err.message : `pool: the worker failed (${(err as Error).message})`)
      if (!isAoError(err)) log.error({ err }, 'pool: job failed')
    }
  } finally {
    clearInterval(renew)
    clearInterval(watchCancel)
    tokens.discard()
    await last
    if (outcome !== 'released') {
      const completed = outcome === 'executed' || outcome === 'ledger'
      await command.poolFinishJob(5, job.lane, keys.lease(hp), events, keys.job(hp), keys.done(job.model),
        GROUP, job.entry, 60_000, nonce, completed ? Date.now() : '', `${job.entry}:${hp}`).catch(() => 0)
    }
  }
  return outcome
}
