/**
 * @module
 * Plans of plain requests, kept by request target.
 *
 * A request's plan is a function of its path, its query, its non-transport headers and its
 * body (http-identity.ts). A *plain* request — GET or HEAD, so no body, and only transport
 * headers, none of which changes how the request is read (signatures, digests, `ao-types`,
 * data-item markers) — therefore has a plan that depends on its target ("/path?query") alone,
 * and a repeated one need not be parsed and planned again: that work was a third of answering
 * a cached step over HTTP. Errors are never kept, so a bad target is refused every time.
 *
 * What is kept is the request as prepared once: the finished plan (reply options taken out,
 * core/request.ts `finishPlan`) with its base ID (core/resolve.ts `prepare`), and the reply
 * options. Kept plans are also frozen: the resolver copies what it changes, and a device that
 * tried to change its request in place fails loudly instead of altering later requests.
 */
import { createLru, type Lru } from '../core/lru.js'
import type { PreparedPlan } from '../core/resolve.js'
import type { HeaderView } from './http-headers.js'
import { isTransportHeader, READING_HEADERS } from '../core/keys.js'
import type { TransportKeys } from './negotiate.js'

/** What the handler needs from a planned request. */
export interface PreparedRequest {
  /** The plan as the resolver runs it, with its base ID when known. */
  readonly run: PreparedPlan
  /** The reply options taken out of the plan. */
  readonly keys: TransportKeys
  /** The decoded path, for logs. */
  readonly pathname: string
}

/** Longer targets are planned every time rather than kept. */
const MAX_KEPT_TARGET = 2048

/** True when a request's plan depends on its target alone. */
export function isPlainRequest(method: string, target: string, headers: HeaderView): boolean {
  if ((method !== 'GET' && method !== 'HEAD') || target.length > MAX_KEPT_TARGET) return false
  let plain = true
  headers.forEach((_value, name) => {
    if (plain && (!isTransportHeader(name) || READING_HEADERS.has(name))) plain = false
  })
  return plain
}

function freezeDeep<T>(value: T): T {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || Object.isFrozen(value)) return value
  for (const inner of Object.values(value)) freezeDeep(inner)
  return Object.freeze(value)
}

/** Prepared requests by target, least recently used dropped first; kept ones are frozen. */
export function createPlanCache(limit: number): Lru<string, PreparedRequest> {
  const kept = createLru<string, PreparedRequest>(limit)
  return {
    get: (target) => kept.get(target),
    set: (target, prepared) => kept.set(target, freezeDeep(prepared)),
    get size() {
      return kept.size
    },
  }
}
