/**
 * @module
 * Whether the Redis tests can run: they need a Redis at 127.0.0.1:6379 (or $HASHBEAM_REDIS_URL).
 * Without one they are skipped with a printed reason — unless HASHBEAM_REQUIRE_REDIS=1, where a
 * missing Redis fails the run loudly instead of passing quietly.
 */

import { Redis } from 'ioredis'
import { REDIS_URL, redisUnavailableReason } from '../../helpers/redis.js'

export { REDIS_URL, redisUnavailableReason }

/** Checks Redis once per test file; throws when it is required and missing. */
export async function redisGate(): Promise<{ skip: boolean }> {
  const reason = await redisUnavailableReason()
  if (reason === undefined) return { skip: false }
  if (process.env.HASHBEAM_REQUIRE_REDIS === '1') throw new Error(`HASHBEAM_REQUIRE_REDIS=1 but ${reason}`)
  console.warn(`[store tests] skipping Redis tests: ${reason}`)
  return { skip: true }
}

/** A key prefix no other run uses. */
export const uniquePrefix = (label: string): string =>
  `hashbeam-test:${label}:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}:`

/** Deletes every key under a prefix (test cleanup; SCAN is fine here, not in the store). */
export async function deletePrefix(prefix: string): Promise<number> {
  const client = new Redis(REDIS_URL, { lazyConnect: true })
  await client.connect()
  let deleted = 0
  try {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) deleted += await client.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    await client.quit()
  }
  return deleted
}

/** Keys currently under a prefix (to check that nothing leaks). */
export async function keysUnder(prefix: string): Promise<string[]> {
  const client = new Redis(REDIS_URL, { lazyConnect: true })
  await client.connect()
  try {
    return await client.keys(`${prefix}*`)
  } finally {
    await client.quit()
  }
}
