/**
 * @module
 * The dispatching side of the inference pool (`--dispatch redis://…`): a gpu-infer run becomes
 * a job on the model's Redis Stream, and the step's answer is the result a worker publishes.
 *
 * Job ID = the step's hashpath. The first dispatcher to ask for a hashpath takes `job:<hashpath>`
 * with SET NX and enqueues; every identical request in the cluster meanwhile finds the key and
 * follows the same job's events — one execution. The job's events are read from their start, so
 * a late follower streams everything already produced. When the last follower leaves (client
 * disconnect) the job is deleted from its queue if no worker took it yet, else cancelled.
 */
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { AoError, DeterminismFaultError, InvalidRequestError, RequestAbortedError, UnavailableError } from '../../core/errors.js'
import { decodeMessage, encodeMessage } from '../../core/codec.js'
import { hashpathAlgOf, hashpathOf } from '../../core/hashpath.js'
import { idOfBytes } from '../../core/id.js'
import type { Logger, Message, ResolveContext } from '../../core/types.js'
import { DRAIN_WINDOW_MS, entryFields, laneOf, poolKeys } from './dispatch-keys.js'
import { connected, eventReader, parsePoolUrl, poolClient, poolUnavailable } from './dispatch-redis.js'
import { poolStats } from './dispatch-stats.js'
import { TAKE_OR_ENQUEUE_SCRIPT } from './dispatch-scripts.js'
import { forwarder } from './dispatch-stream.js'
import { tokenItems } from './dispatch-tokens.js'

export interface DispatchOptions {
  /** `redis://host:port/db?prefix=p:` (the prefix defaults to `hashbeam:pool:`). */
  readonly url: string
  /** Jobs queued or running per model; beyond → 503 with retry-after. */
  readonly maxQueue: number
  /** How long a worker holds a job without renewing (ms). */
  readonly leaseMs: number
  readonly log: Logger
}

/** Longest model name a job may carry (it becomes part of Redis key names). */
const MAX_MODEL_NAME = 200
const JOB_TTL_MS = 30_000

export function createDispatcher(options: DispatchOptions) {
  const { url, prefix } = parsePoolUrl(options.url)
  const keys = poolKeys(prefix)
  const log = options.log
  const redis = poolClient(url, log, 'dispatch')
  redis.defineCommand('poolTake', { lua: TAKE_OR_ENQUEUE_SCRIPT })
  const take = (redis as Redis & { poolTake(n: number, ...a: unknown[]): Promise<[string, string?]> }).poolTake.bind(redis)
  const reader = eventReader(url, redis, log)

  const call = async <T>(work: () => Promise<T>): Promise<T> => {
    try { return await work() } catch (err) {
      if (err instanceof AoError) throw err
      throw poolUnavailable(err)
    }
  }

  async function retryAfter(model: string): Promise<number> {
    const now = Date.now()
    const [done, depth] = await Promise.all([
      redis.zcount(keys.done(model), now - DRAIN_WINDOW_MS, '+inf'),
      Promise.all(keys.lanes(model).map((k) => redis.xlen(k))).then((l) => l.reduce((a, b) => a + b, 0)),
    ])
    if (done === 0) return 5
    return Math.min(300, Math.max(1, Math.ceil(depth / (done / (DRAIN_WINDOW_MS / 1000)))))
  }

  /**
   * Takes or joins the hashpath's job, in one round trip (dispatch-scripts.ts): fails when no
   * live worker serves the model or its queue is full; returns the job's nonce.
   */
  async function takeOrJoin(hashpath: string, model: string, base: Message, baseHashpath: string, req: Message, signer: string | undefined, streams: boolean): Promise<string> {
    const nonce = randomBytes(9).toString('base64url')
    const lane = laneOf(signer)
    const fields = ['hp', hashpath, 'nonce', nonce, 'model', model, 'base-hashpath', baseHashpath, 'stream', streams ? '1' : '0',
      'base', Buffer.from(encodeMessage(base)).toString('base64'), 'req', Buffer.from(encodeMessage(req)).toString('base64')]
    const lanes = keys.lanes(model)
    const [outcome, value] = await take(4 + lanes.length + 1, keys.workers(model), keys.job(hashpath), keys.entry(hashpath, nonce), keys.followers(hashpath, nonce),
      ...lanes, keys.lane(model, lane), Date.now() - 3 * options.leaseMs, nonce, JOB_TTL_MS, options.maxQueue, lane, ...fields)
    if (outcome === 'queued') return nonce
    if (outcome === 'join' && value !== undefined) {
      const join = redis.multi().incr(keys.followers(hashpath, value)).pexpire(keys.followers(hashpath, value), JOB_TTL_MS)
      // A client that streams wants the tokens of a job whose first client may not have.
      await (streams ? join.set(keys.streamed(hashpath, value), '1', 'PX', JOB_TTL_MS) : join).exec()
      return value
    }
    if (outcome === 'no-worker') {
      throw new UnavailableError(`pool: no live worker serves model "${model}"`, { code: 'no-pool-worker', retryAfterSeconds: 5 })
    }
    throw new UnavailableError(`pool: the queue for model "${model}" is full (${options.maxQueue} jobs)`, {
      code: 'queue-full', retryAfterSeconds: await retryAfter(model),
    })
  }

  /** The last follower left: drop the job from its queue if no worker took it yet, else stop it. */
  async function abandon(hashpath: string, model: string, nonce: string): Promise<void> {
    if (await redis.decr(keys.followers(hashpath, nonce)) > 0) return
    // The flag first: a worker that takes the job from here on sees it before it starts.
    await redis.set(keys.cancel(hashpath, nonce), '1', 'PX', JOB_TTL_MS)
    const [where, running] = await Promise.all([redis.get(keys.entry(hashpath, nonce)), redis.exists(keys.lease(hashpath))])
    const [lane, entry] = (where ?? '').split(' ')
    const removed = running === 0 && lane !== undefined && entry !== undefined ? await redis.xdel(keys.lane(model, lane), entry) : 0
    if (removed === 1 && await redis.get(keys.job(hashpath)) === nonce) await redis.del(keys.job(hashpath))
    log.info({ hashpath, removed: removed === 1 }, removed === 1 ? 'pool: job removed from its queue (client gone)' : 'pool: job cancelled (client gone)')
  }

  async function infer(base: Message, req: Message, ctx: ResolveContext): Promise<Message> {
    const model = typeof req.model === 'string' ? req.model : '_default'
    if (model.length > MAX_MODEL_NAME || /[\s\0]/.test(model)) {
      throw new InvalidRequestError(`pool: a model name has at most ${MAX_MODEL_NAME} characters and no spaces`, { code: 'invalid-model' })
    }
    const hashpath = hashpathOf(ctx.hashpath, req, hashpathAlgOf(base))
    const nonce = await call(() => takeOrJoin(hashpath, model, base, ctx.hashpath, req, ctx.caller?.address, ctx.stream !== undefined))
    const signal = ctx.signal
    const forward = forwarder()
    let settled = false
    const outcome = new Promise<Message>((resolve, reject) => {
      const finish = (err: Error | undefined, value?: Message) => {
        if (settled) return
        settled = true
        stop()
        clearInterval(renew)
        signal.removeEventListener('abort', onAbort)
        if (err === undefined) resolve(value!)
        else reject(err)
      }
      const onAbort = () => {
        finish(new RequestAbortedError('gpu-infer: the client left before the pool answered'))
        void abandon(hashpath, model, nonce).catch((err) => log.warn({ err: (err as Error).message, hashpath }, 'pool: could not cancel a job'))
      }
      // Waiters keep the job key alive: if every dispatcher dies, it expires and a retry re-enqueues.
      const renew = setInterval(() => {
        redis.multi().pexpire(keys.job(hashpath), JOB_TTL_MS).pexpire(keys.followers(hashpath, nonce), JOB_TTL_MS)
          .pexpire(keys.entry(hashpath, nonce), JOB_TTL_MS).pexpire(keys.streamed(hashpath, nonce), JOB_TTL_MS).exec().catch(() => {})
      }, 1000)
      const stop = reader.follow(keys.events(hashpath, nonce), (entries) => {
        for (const [, flat] of entries) {
          const e = entryFields(flat)
          if (e.type === 'start') ctx.meta.set('pool-worker', e.worker ?? '')
          else if (e.type === 'token' || e.type === 'tokens') {
            for (const token of tokenItems(e)) {
              const fresh = forward.accept(token.at, token.text)
              if (fresh === undefined) return finish(new DeterminismFaultError('pool: a worker skipped ahead of the streamed text', { code: 'determinism-fault' }))
              if (fresh === token.text && token.extra !== undefined) ctx.stream?.write('token', { ...token.extra, text: fresh })
              else if (fresh !== '') ctx.stream?.write('token', { text: fresh })
            }
          } else if (e.type === 'done') {
            const bytes = new Uint8Array(Buffer.from(e.result ?? '', 'base64'))
            if (idOfBytes(bytes) !== e.id) return finish(new DeterminismFaultError('pool: a worker\'s result does not hash to its ID', { code: 'determinism-fault' }))
            for (const [k, v] of Object.entries(JSON.parse(e.meta ?? '{}') as Record<string, string>)) ctx.meta.set(k, v)
            ctx.meta.set('pool-worker', e.worker ?? '')
            const value = decodeMessage(bytes)
            // Joined a job too late for its worker to see that someone streams: the text in one piece.
            if (forward.sentCount() === 0 && typeof value.output === 'string' && value.output !== '') ctx.stream?.write('token', { text: value.output })
            return finish(undefined, value)
          } else if (e.type === 'error' || e.type === 'fault') {
            return finish(new AoError(Number(e.status ?? 500), e.code ?? 'internal', e.message ?? 'pool: the job failed'))
          }
        }
      }, (err) => finish(err))
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
    return outcome
  }

  return {
    infer,
    /** The pool as this dispatcher sees it (`/~gpu-infer@1.0/queue`). */
    stats: () => call(() => poolStats(redis, keys, options.leaseMs)),
    async start(): Promise<void> {
      await call(() => connected(redis))
    },
    async close(): Promise<void> {
      reader.close()
      redis.disconnect()
    },
  }
}

export type Dispatcher = ReturnType<typeof createDispatcher>
