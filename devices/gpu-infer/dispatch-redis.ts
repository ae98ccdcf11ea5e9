/**
 * @module
 * Redis connections of the inference pool, and the one blocking reader a dispatcher shares
 * between all the jobs it waits on.
 *
 * Pool connections fail fast: no offline queue, one retry. While Redis is away a command
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
    lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000,
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
interface Reader { lastId: string; onEntries(entries: Entries): void; onError(err: Error): void }

/**
 * One blocking XREAD over every job stream this node waits on. A new waiter interrupts the
 * current XREAD (CLIENT UNBLOCK) so it is read from at once; a lost connection fails every
 * waiter with a 503 and the loop ends until the next waiter starts it again.
 */
export function eventReader(url: string, command: Redis, log: Logger) {
  const readers = new Map<string, Reader>()
  let blocking: Redis | undefined
  let blockingId: number | undefined
  let running = false

  async function loop(): Promise<void> {
    running = true
    try {
      while (readers.size > 0) {
        blocking ??= poolClient(url, log, 'events')
        await connected(blocking)
        blockingId ??= Number(await blocking.client('ID'))
        const keys = [...readers.keys()]
        const ids = keys.map((k) => readers.get(k)!.lastId)
        const answer = await blocking.xread('COUNT', 256, 'BLOCK', 5000, 'STREAMS', ...keys, ...ids) as Array<[string, Entries]> | null
        for (const [key, entries] of answer ?? []) {
          const reader = readers.get(key)
          if (reader === undefined || entries.length === 0) continue
          reader.lastId = entries[entries.length - 1]![0]
          reader.onEntries(entries)
        }
      }
    } catch (err) {
      const failure = poolUnavailable(err)
      for (const reader of readers.values()) reader.onError(failure)
      readers.clear()
      blocking?.disconnect()
      blocking = undefined
      blockingId = undefined
    } finally {
      running = false
    }
  }

  return {
    /** Reads `key` from its start; returns a function that stops reading it. */
    follow(key: string, onEntries: Reader['onEntries'], onError: Reader['onError']): () => void {
      readers.set(key, { lastId: '0-0', onEntries, onError })
      if (!running) void loop()
      else if (blockingId !== undefined) command.client('UNBLOCK', blockingId).catch(() => {})
      return () => { readers.delete(key) }
    },
    close(): void {
      readers.clear()
      blocking?.disconnect()
      blocking = undefined
    },
  }
}
