/**
 * Whether a Redis answers at $HASHBEAM_REDIS_URL (default 127.0.0.1:6379), for the Redis tests and
 * the store benchmark. Outside vitest on purpose: the benchmark is compiled and run by node.
 */
import { Redis } from 'ioredis'

export const REDIS_URL = process.env.HASHBEAM_REDIS_URL ?? 'redis://127.0.0.1:6379/0'

/** Resolves to undefined when Redis answers PING, else to the reason it does not. */
export async function redisUnavailableReason(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  // The connection error (ECONNREFUSED…) arrives as an event; connect() only says "closed".
  let lastError: Error | undefined
  client.on('error', (err: Error) => { lastError = err })
  try {
    await client.connect()
    await client.ping()
    return undefined
  } catch (err) {
    return `no Redis at ${REDIS_URL}: ${(lastError ?? (err as Error)).message}`
  } finally {
    client.disconnect()
  }
}

