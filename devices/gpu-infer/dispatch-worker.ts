/**
 * @module
 * The worker side of the inference pool (`--worker redis://…`): pulls jobs for the models this
 * node serves from their Redis Streams (consumer group `workers`), executes each through the
 * node's own resolver — so the step record and result land in the shared ledger under this
 * node's address — and publishes the job's events.
 *
 * Delivery is at-least-once. A job is held by a lease: `lease:<hashpath>` (SET NX PX) plus the
 * entry's idle time in the group's pending list, both renewed every lease/3 while it runs. A
 * worker that dies stops renewing; after `leaseMs` another worker's XAUTOCLAIM takes the entry
 * and runs the job again from the start (same request, same seed), reproducing the text already
 * streamed before it streams more (dispatch-job.ts).
 */
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Logger, Message } from '../../core/types.js'
import { GROUP, LANE_NAMES, poolKeys, entryFields } from './dispatch-keys.js'
import { runJob, type JobExecutor, type PoolJob } from './dispatch-job.js'
import { connected, parsePoolUrl, poolClient } from './dispatch-redis.js'
import { withWorkerScripts } from './dispatch-scripts.js'
import { poolStats } from './dispatch-stats.js'

export interface PoolWorkerOptions {
  readonly url: string
  readonly leaseMs: number
  /** Jobs this worker runs at once (the engine's parallel slots). */
  readonly slots: number
  /** This node's address: the writer of its records, named in job events. */
  readonly address: string
  /** The models this node serves (`_default` included when it has a default model). */
  readonly models: () => Promise<readonly string[]>
  readonly execute: JobExecutor
  /** The runtime profile this worker computes with (named in events and fault records). */
  readonly profile: () => Promise<Message>
  /** Stores a determinism-fault record; returns its ID. */
  readonly recordFault: (fault: Message) => Promise<string>
  readonly log: Logger
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))
const isNoGroup = (err: unknown): boolean => /NOGROUP/.test((err as Error)?.message ?? '')

export function createPoolWorker(options: PoolWorkerOptions) {
  const { url, prefix } = parsePoolUrl(options.url)
  const keys = poolKeys(prefix)
  const log = options.log
  const consumer = `${options.address}:${process.pid}:${randomBytes(4).toString('hex')}`
  const command = withWorkerScripts(poolClient(url, log, 'worker'))
  const blockers: Redis[] = []
  const running = new Set<AbortController>()
  let stopped = false
  let lanes: string[] = []
  let laneModel = new Map<string, string>()
  let rotation = 0
  let lastClaim = 0
  let executions = 0
  let completed = 0
  let cancelled = 0
  let beat: NodeJS.Timeout | undefined

  async function refreshModels(): Promise<void> {
    const models = await options.models()
    laneModel = new Map(models.flatMap((m) => LANE_NAMES.map((lane) => [keys.lane(m, lane), m] as [string, string])))
    lanes = [...laneModel.keys()]
    const p = command.pipeline()
    const now = Date.now()
    for (const model of models) {
      p.zadd(keys.workers(model), now, consumer).zremrangebyscore(keys.workers(model), '-inf', now - 10 * options.leaseMs).sadd(keys.models, model)
    }
    await p.exec()
  }

  async function ensureGroups(): Promise<void> {
    for (const lane of lanes) {
      await command.xgroup('CREATE', lane, GROUP, '0', 'MKSTREAM').catch((err: Error) => {
        if (!/BUSYGROUP/.test(err.message)) throw err
      })
    }
  }

  type Taken = { lane: string; entry: string; fields: Record<string, string> }

  /** A dead consumer's job, then a new one lane by lane round-robin; else waits for news. */
  async function nextJob(blocking: Redis): Promise<Taken | undefined> {
    const now = Date.now()
    if (now - lastClaim > options.leaseMs / 2) {
      lastClaim = now
      for (const lane of lanes) {
        const [, entries] = await command.xautoclaim(lane, GROUP, consumer, options.leaseMs, '0-0', 'COUNT', 1) as [string, Array<[string, string[]]>]
        const first = entries[0]
        if (first !== undefined) {
          log.info({ lane, entry: first[0] }, 'pool: claimed a job whose worker stopped renewing it')
          return { lane, entry: first[0], fields: entryFields(first[1]) }
        }
      }
    }
    // Every lane in one round trip, starting after the lane served last (dispatch-scripts.ts).
    const order = [...lanes.slice(rotation), ...lanes.slice(0, rotation)]
    const got = await command.poolNextJob(order.length, ...order, GROUP, consumer)
    if (got !== null) {
      const [i, entry, flat] = got
      rotation = (rotation + i + 1) % lanes.length
      return { lane: order[i]!, entry, fields: entryFields(flat) }
    }
    // Nothing waiting: block until any lane gets an entry newer than its last one (or a beat).
    const tips = await lanes.reduce((p, lane) => p.xrevrange(lane, '+', '-', 'COUNT', 1), command.pipeline()).exec()
    const ids = (tips ?? []).map(([, r]) => (r as Array<[string]> | undefined)?.[0]?.[0] ?? '0-0')
    await blocking.xread('BLOCK', Math.max(100, Math.floor(options.leaseMs / 2)), 'STREAMS', ...lanes, ...ids)
    return undefined
  }

  async function slotLoop(): Promise<void> {
    const blocking = poolClient(url, log, 'worker-wait')
    blockers.push(blocking)
    let failures = 0
    while (!stopped) {
      try {
        if (lanes.length === 0) await refreshModels()
        const taken = await nextJob(blocking)
        failures = 0
        if (taken === undefined) continue
        const controller = new AbortController()
        running.add(controller)
        const job: PoolJob = { ...taken, model: laneModel.get(taken.lane) ?? taken.fields.model ?? '' }
        try {
          const outcome = await runJob(job, { command, keys, consumer, options, signal: controller.signal, stopping: () => stopped })
          if (outcome === 'executed') executions++
          if (outcome === 'executed' || outcome === 'ledger') completed++
          if (outcome === 'cancelled') cancelled++
        } finally {
          running.delete(controller)
        }
      } catch (err) {
        if (stopped) break
        failures++
        if (isNoGroup(err)) await ensureGroups().catch(() => {})
        else log.warn({ err: (err as Error).message }, 'pool: worker loop error; retrying')
        await sleep(Math.min(2000, 100 * failures))
      }
    }
  }

  return {
    async start(): Promise<void> {
      await connected(command)
      await refreshModels()
      await ensureGroups()
      beat = setInterval(() => { refreshModels().catch(() => {}) }, Math.max(100, Math.floor(options.leaseMs / 3)))
      for (let i = 0; i < options.slots; i++) void slotLoop()
      log.info({ consumer, models: [...new Set(laneModel.values())] }, 'pool: worker started')
    },
    /** This worker's own numbers (beside the pool's in `/~gpu-infer@1.0/queue`). */
    stats: (): Message => ({ consumer, executions, completed, cancelled, running: running.size }),
    /** The whole pool's numbers, as a dispatcher reads them. */
    poolStats: (): Promise<Message> => poolStats(command, keys, options.leaseMs),
    async stop(): Promise<void> {
      stopped = true
      if (beat !== undefined) clearInterval(beat)
      for (const controller of running) controller.abort(new Error('worker stopping'))
      for (const blocking of blockers) blocking.disconnect()
      const models = [...new Set(laneModel.values())]
      await Promise.all(models.map((m) => command.zrem(keys.workers(m), consumer))).catch(() => {})
      for (let i = 0; i < 50 && running.size > 0; i++) await sleep(20)
      command.disconnect()
    },
  }
}

export type PoolWorker = ReturnType<typeof createPoolWorker>
