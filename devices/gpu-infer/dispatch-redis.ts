/**
 * @module
 * Redis connections of the inference pool, and the one blocking reader a dispatcher shares
 * between all the jobs it waits on.
 *
 * Pool connections fail fast: no offline queue, no resending, no retry. While Redis is away a command
 * rejects at once (the client gets a clear 503) instead of queueing behind a dead socket;
 * ioredis reconnects on its own, so the node recovers when Redis is back without a restart.
 */
import { Redis } from 'ioredis'
import { UnavailableError } from '../../core/errors.js'
import type { Logger } from '../../core/types.js'
import { DEFAULT_POOL_PREFIX } from './dispatch-keys.js'

/** `redis://host:port/db?prefix=p:` → the ioredis URL and the key prefix. */
export function parsePoolUrl(url: string): { url: string; prefix: string } {
  let parsed: URL
  try { parsed = new URL(url) } catch {
    throw new UnavailableError('pool: the dispatch URL is not a URL', { code: 'pool-unavailable' })
  }
  const prefix = parsed.searchParams.get('prefix') ?? DEFAULT_POOL_PREFIX
  parsed.search = ''
  return { url: parsed.toString(), prefix }
}

export const poolUnavailable = (err: unknown): UnavailableError =>
  new UnavailableError(`pool: redis is unreachable (${(err as Error)?.message ?? String(err)}); retry shortly`, {
    code: 'pool-unavailable', cause: err, retryAfterSeconds: 2,
  })

/** A pool connection; connection errors are logged (rate-limited), never thrown as events. */
export function poolClient(url: string, log: Logger, role: string): Redis {
  const client = new Redis(url, {
    // A command in flight when the connection drops fails instead of being resent to a Redis that
    // may have restarted empty (a blocking XREAD would then wait forever on a stream that is gone).
    // maxRetriesPerRequest must be 0: with autoResendUnfulfilledCommands off, ioredis drops the
    // commands that were in flight at a close without settling them once a reconnect succeeds, and
    // only a flush at every close (retryAttempts % (max + 1) === 0) rejects them first.
    lazyConnect: false, maxRetriesPerRequest: 0, enableOfflineQueue: false, autoResendUnfulfilledCommands: false, connectTimeout: 3000,
    retryStrategy: (times) => Math.min(100 * times, 1000),
  })
  let lastLog = 0
  client.on('error', (err: Error) => {
    const now = Date.now()
    if (now - lastLog > 5000) log.warn({ err: err.message, role }, 'pool: redis connection error')
    lastLog = now
  })
  return client
}

/** Waits until a client is connected (at start, so a wrong URL fails the node early). */
export async function connected(client: Redis, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(poolUnavailable(new Error(`no connection in ${timeoutMs} ms`))), timeoutMs)
    client.once('ready', () => { clearTimeout(timer); done() })
  })
}

type Entries = Array<[id: string, fields: string[]]>
interface Follower { onEntries(entries: Entries): void; onError(err: Error): void }
/** One job stream read once for all its followers on this node (identical requests share a job). */
interface Followed { lastId: string; readonly seen: Entries; readonly followers: Set<Follower> }

/**
 * One blocking XREAD over every job stream this node waits on. A new stream interrupts the
 * current XREAD (CLIENT UNBLOCK) so it is read from at once; a second follower of a stream gets
 * what was read so far, then the rest. A lost connection fails every follower with a 503 and
 * the loop ends until the next follower starts it again.
 */
export function eventReader(url: string, command: Redis, log: Logger) {
  const streams = new Map<string, Followed>()
  let blocking: Redis | undefined
  let blockingId: number | undefined
  let running = false

  async function loop(): Promise<void> {
    running = true
    try {
      while (streams.size > 0) {
        blocking ??= poolClient(url, log, 'events')
        await connected(blocking)
        blockingId ??= Number(await blocking.client('ID'))
        const keys = [...streams.keys()]
        const ids = keys.map((k) => streams.get(k)!.lastId)
        const answer = await blocking.xread('COUNT', 256, 'BLOCK', 5000, 'STREAMS', ...keys, ...ids) as Array<[string, Entries]> | null
        for (const [key, entries] of answer ?? []) {
          const followed = streams.get(key)
          if (followed === undefined || entries.length === 0) continue
          followed.lastId = entries[entries.length - 1]![0]
          followed.seen.push(...entries)
          for (const follower of followed.followers) follower.onEntries(entries)
        }
      }
    } catch (err) {
      const failure = poolUnavailable(err)
      for (const followed of streams.values()) for (const follower of followed.followers) follower.onError(failure)
      streams.clear()
      blocking?.disconnect()
      blocking = undefined
      blockingId = undefined
    } finally {
      running = false
    }
  }

  return {
    /** Reads `key` from its start; returns a function that stops following it. */
    follow(key: string, onEntries: Follower['onEntries'], onError: Follower['onError']): () => void {
      const follower: Follower = { onEntries, onError }
      let followed = streams.get(key)
      if (followed === undefined) {
        followed = { lastId: '0-0', seen: [], followers: new Set() }
        streams.set(key, followed)
        if (!running) void loop()
        else if (blockingId !== undefined) command.client('UNBLOCK', blockingId).catch(() => {})
      }
      followed.followers.add(follower)
      const mine = followed
      // What was read before this follower came, delivered before anything newer (a microtask
      // runs before the next XREAD answer), and never inside follow() itself.
      const earlier = followed.seen.slice()
      if (earlier.length > 0) queueMicrotask(() => { if (mine.followers.has(follower)) onEntries(earlier) })
      return () => {
        mine.followers.delete(follower)
        if (mine.followers.size === 0 && streams.get(key) === mine) streams.delete(key)
      }
    },
    close(): void {
      streams.clear()
      blocking?.disconnect()
      blocking = undefined
    },
  }
}
