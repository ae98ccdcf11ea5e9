/**
 * @module
 * A small least-recently-used map: the resolver's answers to repeated deterministic steps and
 * the HTTP layer's plans of repeated requests. A Map keeps insertion order, so a hit is moved
 * to the back and the front is the least recently used.
 */
export interface Lru<K, V> {
  get(key: K): V | undefined
  set(key: K, value: V): void
  readonly size: number
}

/** An LRU holding at most `limit` entries (0 or less: holds nothing). */
export function createLru<K, V>(limit: number): Lru<K, V> {
  const entries = new Map<K, V>()
  return {
    get(key) {
      const hit = entries.get(key)
      if (hit !== undefined) {
        entries.delete(key)
        entries.set(key, hit)
      }
      return hit
    },
    set(key, value) {
      if (limit <= 0) return
      entries.delete(key)
      entries.set(key, value)
      if (entries.size > limit) entries.delete(entries.keys().next().value as K)
    },
    get size() {
      return entries.size
    },
  }
}
