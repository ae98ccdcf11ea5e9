/**
 * @module
 * The request headers the HyperPATH handler reads, without building a WHATWG `Headers`.
 *
 * Under `@hono/node-server`, `c.req.raw.headers` materializes a `Headers` object from the raw
 * header list on first use (sorting and validating every field): several microseconds per
 * request, most of a cached answer's budget. Node has already parsed the same fields into
 * `IncomingMessage#headers` (lower-case names; repeated fields joined with ", ", as `Headers`
 * joins them, except that Node keeps only the first of a few singleton fields such as
 * `content-type` and `host`). Where there is no IncomingMessage (`app.fetch(request)` in tests
 * and embedders), the request's own `Headers` is used.
 */
import type { Context } from 'hono'

/** The read-only part of `Headers` the request pipeline uses. */
export interface HeaderView {
  get(name: string): string | null
  has(name: string): boolean
  forEach(fn: (value: string, name: string) => void): void
}

type NodeHeaders = Readonly<Record<string, string | string[] | undefined>>
interface NodeIncoming {
  readonly headers: NodeHeaders
  readonly url?: string
}

/** The Node request under `@hono/node-server`, if that is how this request arrived. */
export function nodeIncoming(c: Context): NodeIncoming | undefined {
  const incoming = (c.env as { incoming?: NodeIncoming } | undefined)?.incoming
  return incoming !== undefined && typeof incoming.headers === 'object' ? incoming : undefined
}

const joined = (value: string | string[] | undefined): string | null =>
  value === undefined ? null : Array.isArray(value) ? value.join(', ') : value

function viewOfNodeHeaders(headers: NodeHeaders): HeaderView {
  return {
    get: (name) => joined(headers[name.toLowerCase()]),
    has: (name) => headers[name.toLowerCase()] !== undefined,
    forEach(fn) {
      for (const name of Object.keys(headers)) {
        const value = joined(headers[name])
        if (value !== null) fn(value, name)
      }
    },
  }
}

/** The request's headers, read from Node's parse when there is one. */
export function requestHeaders(c: Context): HeaderView {
  const incoming = nodeIncoming(c)
  return incoming === undefined ? c.req.raw.headers : viewOfNodeHeaders(incoming.headers)
}
