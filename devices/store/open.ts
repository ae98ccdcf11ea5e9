/**
 * @module
 * `openStore(spec)`: the one place that turns a configuration string into a store backend.
 *
 *     memory                          in-process Map, gone on exit (tests, throwaway nodes)
 *     fs                              one file per key under <dataDir>/fs
 *     lmdb                            LMDB environment in <dataDir>/lmdb (the default)
 *     redis                           redis://127.0.0.1:6379/0
 *     redis://host:port/db?prefix=p:  a shared Redis; every key under the prefix `p:`
 *
 * The Redis prefix (default `hashbeam:`) lets several nodes or test runs share one Redis; the
 * `keyPrefix` option wins over `?prefix=`, and neither reaches ioredis.
 */
import { join } from 'node:path'
import { ConfigError } from '../../core/errors.js'
import type { Logger } from '../../core/types.js'
import { openFsStore } from './backends/fs.js'
import { openLmdbStore } from './backends/lmdb.js'
import { memoryStore } from './backends/memory.js'
import { openRedisStore, redactUrl } from './backends/redis.js'
import type { StreamingStore } from './backends/shared.js'
import type { StoreKind } from './constants.js'

export type { StreamingStore } from './backends/shared.js'

export interface OpenStoreOptions {
  /** The node's data directory; file-backed stores live in a subdirectory named after them. */
  readonly dataDir: string
  readonly log?: Logger
  /** Redis key prefix; overrides `?prefix=` in the spec. */
  readonly keyPrefix?: string
}

/** What a spec string asks for. */
export type StoreSpec =
  | { readonly kind: Exclude<StoreKind, 'redis'> }
  | { readonly kind: 'redis'; readonly url: string; readonly keyPrefix?: string }

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379/0'

/** Parses a store spec; throws ConfigError (`unknown-store`) for anything else. */
export function parseStoreSpec(spec: string): StoreSpec {
  const trimmed = spec.trim()
  if (trimmed === 'memory' || trimmed === 'fs' || trimmed === 'lmdb') return { kind: trimmed }
  if (trimmed === 'redis') return { kind: 'redis', url: DEFAULT_REDIS_URL }
  if (/^rediss?:\/\//i.test(trimmed)) {
    let url: URL
    try { url = new URL(trimmed) } catch (err) {
      throw new ConfigError('store: malformed redis URL', { cause: err, code: 'unknown-store' })
    }
    const keyPrefix = url.searchParams.get('prefix') ?? undefined
    url.searchParams.delete('prefix')
    return { kind: 'redis', url: url.toString(), ...(keyPrefix === undefined ? {} : { keyPrefix }) }
  }
  throw new ConfigError(`store: unknown store "${spec}" (expected memory, fs, lmdb or redis://host:port/db)`, {
    code: 'unknown-store',
  })
}

/** Opens the store a spec names. Resolves once it is ready (directories made, Redis reached). */
export async function openStore(spec: string, options: OpenStoreOptions): Promise<StreamingStore> {
  const parsed = parseStoreSpec(spec)
  const log = options.log?.child({ component: 'store', store: parsed.kind })
  const store = await openParsed(parsed, options, log)
  log?.info({ location: describeLocation(parsed, options) }, 'store: opened')
  return store
}

function openParsed(spec: StoreSpec, options: OpenStoreOptions, log: Logger | undefined): Promise<StreamingStore> {
  const withLog = log === undefined ? {} : { log }
  switch (spec.kind) {
    case 'memory': return Promise.resolve(memoryStore())
    case 'fs': return openFsStore({ root: join(options.dataDir, 'fs'), ...withLog })
    case 'lmdb': return openLmdbStore({ path: join(options.dataDir, 'lmdb'), ...withLog })
    case 'redis': {
      const keyPrefix = options.keyPrefix ?? spec.keyPrefix
      return openRedisStore({ url: spec.url, ...(keyPrefix === undefined ? {} : { keyPrefix }), ...withLog })
    }
  }
}

function describeLocation(spec: StoreSpec, options: OpenStoreOptions): string {
  if (spec.kind === 'redis') return redactUrl(spec.url)
  if (spec.kind === 'memory') return 'memory'
  return join(options.dataDir, spec.kind)
}
