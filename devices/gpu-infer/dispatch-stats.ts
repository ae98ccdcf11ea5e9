/**
 * @module
 * The pool's numbers, read from Redis (`/~gpu-infer@1.0/queue`, and the router's node list):
 * per model the jobs waiting, the oldest one's wait, the live workers, the jobs in flight and
 * the drain rate of the last minute. Reads only; a few pipelined commands per model lane.
 */
import type { Redis } from 'ioredis'
import type { Message } from '../../core/types.js'
import { DRAIN_WINDOW_MS, GROUP, entryAgeMs, type PoolKeys } from './dispatch-keys.js'

/** Models named in the pool at most (the answer stays small whatever the registry holds). */
const MAX_MODELS = 64

type Reply = [Error | null, unknown]

export async function poolStats(redis: Redis, keys: PoolKeys, leaseMs: number): Promise<Message> {
  const now = Date.now()
  const models = (await redis.smembers(keys.models)).sort().slice(0, MAX_MODELS)
  const out: Message[] = []
  for (const model of models) {
    const lanes = keys.lanes(model)
    const info = lanes.reduce((p, lane) => p.xlen(lane).xinfo('GROUPS', lane), redis.pipeline())
      .zcount(keys.workers(model), now - 3 * leaseMs, '+inf')
      .zcount(keys.done(model), now - DRAIN_WINDOW_MS, '+inf')
    const replies = (await info.exec()) as Reply[]
    let queued = 0
    let inFlight = 0
    const nextIds: Array<[string, string]> = []
    lanes.forEach((lane, i) => {
      const length = Number(replies[2 * i]?.[1] ?? 0)
      const groups = replies[2 * i + 1]?.[0] === null ? replies[2 * i + 1]![1] as unknown[][] : []
      const group = groups.map(pairs).find((g) => g.name === GROUP)
      const pending = Number(group?.pending ?? 0)
      queued += length
      inFlight += pending
      if (length > pending) nextIds.push([lane, String(group?.['last-delivered-id'] ?? '0-0')])
    })
    const workers = Number(replies[2 * lanes.length]?.[1] ?? 0)
    const done = Number(replies[2 * lanes.length + 1]?.[1] ?? 0)
    let oldestMs = 0
    for (const [lane, after] of nextIds) {
      const first = await redis.xrange(lane, `(${after}`, '+', 'COUNT', 1)
      if (first[0] !== undefined) oldestMs = Math.max(oldestMs, entryAgeMs(first[0][0], now))
    }
    out.push({
      model, waiting: Math.max(0, queued - inFlight), 'in-flight': inFlight, workers,
      'oldest-wait-ms': oldestMs, 'drained-per-minute': done,
    })
  }
  return { pool: true, models: out }
}

/** XINFO's flat `[name, value, …]` reply as an object. */
function pairs(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1]
  return out
}
