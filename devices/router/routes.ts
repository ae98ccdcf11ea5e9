/**
 * @module
 * router@1.0's routes, HyperBEAM's shape (dev_router.erl): an ordered list, the first match
 * wins. A route has a `template` — a path regex, matched against the request's target (path
 * and query), or a message whose every key must equal the request's — optional `node`/`nodes`
 * (without them: every registered node), a `strategy`, `choose` (how many nodes `route`
 * answers, default 1) and `priority` (the sort key after a change). Hashbeam adds `model`: the
 * route goes only to nodes serving that model (name or sha256).
 *
 * Routes come from the operator (a signed POST) or the defaults, so the regexes are theirs;
 * still each is bounded in length and count, and compiled once.
 */
import { InvalidRequestError } from '../../core/errors.js'
import { STRATEGIES, type Strategy } from './strategies.js'

/** A node named by a route (HyperBEAM: a URI, or a map with `uri`). */
export interface RouteNode {
  readonly url: string
  readonly weight?: number
}

export interface Route {
  /** A path regex (source text) or a message of exact key values. */
  readonly template: string | Readonly<Record<string, string>>
  /** Explicit nodes; absent: every live registered node. */
  readonly nodes?: readonly RouteNode[]
  readonly strategy: Strategy
  readonly choose: number
  readonly priority: number
  /** Only nodes that serve this model (name or sha256). */
  readonly model?: string
}

/** A route with its compiled regex. */
export interface CompiledRoute extends Route {
  readonly index: number
  readonly regex?: RegExp
}

/** What a template is matched against: the request's target and its keys, all as text. */
export interface RequestSummary {
  readonly method: string
  /** Path and query, as sent. */
  readonly target: string
  /** Keys of the request: `device` (the first `~name`), `path`, `method`, query and segment keys. */
  readonly keys: Readonly<Record<string, string>>
}

export const MAX_ROUTES = 256
const MAX_REGEX_LENGTH = 512
const MAX_TEMPLATE_KEYS = 32
const MAX_NODES = 256
const MAX_CHOOSE = 64

/**
 * The routes a `--router` node starts with: inference spreads by load, every other request
 * sticks to a node by its path (By-Base: the same request meets the same node's cache).
 */
export const DEFAULT_ROUTES: readonly Route[] = [
  { template: '^/~gpu-infer@1\\.0/', strategy: 'Least-Loaded', choose: 1, priority: 10 },
  { template: '^/', strategy: 'By-Base', choose: 1, priority: 100 },
]

const bad = (message: string): InvalidRequestError => new InvalidRequestError(`router: ${message}`, { code: 'invalid-route' })

function parseNode(entry: unknown): RouteNode {
  const raw = typeof entry === 'string' ? { url: entry } : entry
  if (raw === null || typeof raw !== 'object') throw bad('a node is a URL or {uri, weight}')
  const url = (raw as { url?: unknown; uri?: unknown }).url ?? (raw as { uri?: unknown }).uri
  if (typeof url !== 'string' || !/^https?:\/\/[^/\s]+/i.test(url) || url.length > 2048) throw bad('a node URL must be http(s)://host[:port]')
  const weight = (raw as { weight?: unknown }).weight
  if (weight !== undefined && (typeof weight !== 'number' || !(weight > 0) || weight > 1e6)) throw bad('a node weight is a number above 0')
  return { url: url.replace(/\/+$/, ''), ...(weight === undefined ? {} : { weight }) }
}

function parseTemplate(template: unknown): Route['template'] {
  if (typeof template === 'string') {
    if (template.length === 0 || template.length > MAX_REGEX_LENGTH) throw bad(`a template regex has 1–${MAX_REGEX_LENGTH} characters`)
    try {
      new RegExp(template)
    } catch (err) {
      throw bad(`the template ${JSON.stringify(template)} is no regular expression (${(err as Error).message})`)
    }
    return template
  }
  if (template === null || typeof template !== 'object' || Array.isArray(template)) throw bad('a template is a path regex or a message of key values')
  const entries = Object.entries(template)
  if (entries.length === 0 || entries.length > MAX_TEMPLATE_KEYS) throw bad(`a template message has 1–${MAX_TEMPLATE_KEYS} keys`)
  const out: Record<string, string> = {}
  for (const [key, value] of entries) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw bad(`template key "${key}" must be text`)
    out[key.toLowerCase()] = String(value)
  }
  return out
}

/** One route from its JSON form; throws 400 `invalid-route` naming what is wrong. */
export function parseRoute(raw: unknown): Route {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('a route is an object')
  const r = raw as Record<string, unknown>
  const strategy = r.strategy ?? 'All'
  if (typeof strategy !== 'string' || !(STRATEGIES as readonly string[]).includes(strategy)) {
    throw bad(`strategy must be one of ${STRATEGIES.join(', ')}`)
  }
  const choose = r.choose ?? 1
  if (typeof choose !== 'number' || !Number.isInteger(choose) || choose < 1 || choose > MAX_CHOOSE) throw bad(`choose is an integer from 1 to ${MAX_CHOOSE}`)
  const priority = r.priority ?? 0
  if (typeof priority !== 'number' || !Number.isFinite(priority)) throw bad('priority is a number')
  const list = r.nodes ?? (r.node === undefined ? undefined : [r.node])
  if (list !== undefined && (!Array.isArray(list) || list.length === 0 || list.length > MAX_NODES)) throw bad(`nodes is a list of 1–${MAX_NODES} nodes`)
  const model = r.model
  if (model !== undefined && (typeof model !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(model))) throw bad('model is a model name or sha256')
  return {
    template: parseTemplate(r.template),
    strategy: strategy as Strategy, choose, priority,
    ...(list === undefined ? {} : { nodes: list.map(parseNode) }),
    ...(model === undefined ? {} : { model }),
  }
}

/** A route list from JSON text or a parsed list. */
export function parseRoutes(raw: unknown): Route[] {
  let value = raw
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw)
    } catch (err) {
      throw bad(`routes are not JSON (${(err as Error).message})`)
    }
  }
  if (!Array.isArray(value)) throw bad('routes are a JSON list')
  if (value.length > MAX_ROUTES) throw bad(`at most ${MAX_ROUTES} routes`)
  return value.map(parseRoute)
}

/** Sorted by priority (stable: equal priorities keep their order), as HyperBEAM re-sorts on POST. */
export function sortRoutes(routes: readonly Route[]): Route[] {
  return routes.map((r, i) => [r, i] as const).sort((a, b) => a[0].priority - b[0].priority || a[1] - b[1]).map(([r]) => r)
}

export function compileRoutes(routes: readonly Route[]): CompiledRoute[] {
  return routes.map((route, index) => (typeof route.template === 'string' ? { ...route, index, regex: new RegExp(route.template) } : { ...route, index }))
}

/** The first route whose template matches the request (HyperBEAM: first match wins). */
export function matchRoute(routes: readonly CompiledRoute[], request: RequestSummary): CompiledRoute | undefined {
  for (const route of routes) {
    if (route.regex !== undefined) {
      if (route.regex.test(request.target)) return route
      continue
    }
    const template = route.template as Readonly<Record<string, string>>
    let all = true
    for (const key in template) {
      if (request.keys[key] !== template[key]) {
        all = false
        break
      }
    }
    if (all) return route
  }
  return undefined
}

const decode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * The keys a template can match, read from the target alone (no body, no signature): the first
 * `~device`, the path, the method, and each `key=value` of the segments and the query (a
 * `+type` suffix dropped, keys lower-cased). Later keys do not override earlier ones.
 */
export function summarize(method: string, target: string): RequestSummary {
  const q = target.indexOf('?')
  const path = q === -1 ? target : target.slice(0, q)
  const keys: Record<string, string> = { method: method.toUpperCase(), path }
  const device = /^\/~([^/&?]+)/.exec(path)
  if (device?.[1] !== undefined) keys.device = decode(device[1])
  const put = (pair: string) => {
    const eq = pair.indexOf('=')
    if (eq <= 0) return
    const key = decode(pair.slice(0, eq)).split('+')[0]?.toLowerCase() ?? ''
    if (key !== '' && keys[key] === undefined) keys[key] = decode(pair.slice(eq + 1))
  }
  for (const segment of path.split('/')) for (const pair of segment.split('&').slice(1)) put(pair)
  if (q !== -1) for (const pair of target.slice(q + 1).split('&')) put(pair)
  return { method: keys.method as string, target, keys }
}
