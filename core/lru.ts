/**
 * @module
 * A small cache of recently used entries: the resolver's answers to repeated deterministic
 * steps and the HTTP layer's plans of repeated requests.
 *
 * Two generations, as hashlru does: entries go into the young map; when it reaches the limit
 * it becomes the old map and the previous old map is dropped. A hit in the old generation is
 * moved to the young one. So the `limit` most recently used entries are always kept (and at
 * most 2 × `limit`), and a hit costs one Map lookup — reordering a single Map on every hit
 * was a measurable part of answering a cached step. Kept over `lru-cache`: ~1.5× its rate on
 * hits and on evicting inserts (`npm run bench -- libs`, docs/benchmarks.md), and no dependency.
 */
export interface Lru<K, V> {
  get(key: K): V | undefined
  set(key: K, value: V): void
  readonly size: number
}

/** A cache keeping at least the `limit` most recently used entries (0 or less: none). */
export function createLru<K, V>(limit: number): Lru<K, V> {
  let young = new Map<K, V>()
  let old = new Map<K, V>()
  const put = (key: K, value: V): void => {
    young.set(key, value)
    if (young.size >= limit) {
      old = young
      young = new Map()
    }
  }
  return {
    get(key) {
      const hit = young.get(key)
      if (hit !== undefined) return hit
      const aging = old.get(key)
      if (aging !== undefined) {
        old.delete(key)
        put(key, aging)
      }
      return aging
    },
    set(key, value) {
      if (limit <= 0) return
      old.delete(key)
      put(key, value)
    },
    get size() {
      let size = young.size
      for (const key of old.keys()) if (!young.has(key)) size++
      return size
    },
  }
}
