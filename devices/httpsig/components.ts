/**
 * @module
 * RFC 9421 §2: the values of covered components and the signature base built from them.
 *
 * A message is seen through `HttpMessageView`: method/target for requests, status for responses,
 * and the field lines in arrival order (repeated names stay separate lines, as the RFC's B.4
 * examples need). The target is split by hand rather than through WHATWG `URL`, which would
 * re-encode the path: the signer signed the bytes it sent, so we must derive `@path` from the
 * same bytes. The signature base built from these values is signature-base.ts.
 */
import {
  parseDictionary, parseItem, parseList, serializeDictionary, serializeInnerList, serializeItem,
  serializeList, type Parameters,
} from 'structured-headers'
import { InvalidSignatureError } from '../../core/errors.js'
import { CODE } from './constants.js'
import { toBase64, utf8 } from './encoding.js'

/** A request or response as the signature code sees it. */
export interface HttpMessageView {
  readonly method?: string
  /** Absolute URI (`https://host/p?q`) or origin form (`/p?q`). */
  readonly target?: string
  /** Overrides the authority of the target (else the target's, else the Host field). */
  readonly authority?: string
  /** Scheme for origin-form targets (`@scheme`, `@target-uri`). */
  readonly scheme?: string
  readonly status?: number
  readonly fields: ReadonlyArray<readonly [string, string]>
  /** The request a response answers, for components with `;req`. */
  readonly request?: HttpMessageView
}

/** A covered component: its name and parameters (`"@query-param";name="Pet"`). */
export interface ComponentId {
  readonly name: string
  readonly params: Parameters
}

/** Fields known to be structured, for the `;sf` and `;key` parameters. */
const STRUCTURED_FIELD_TYPES: Readonly<Record<string, 'dictionary' | 'list' | 'item'>> = {
  'signature': 'dictionary', 'signature-input': 'dictionary', 'content-digest': 'dictionary',
  'repr-digest': 'dictionary', 'want-content-digest': 'dictionary', 'ao-types': 'dictionary',
  'accept-signature': 'dictionary', 'cache-status': 'list', 'priority': 'dictionary',
}

/** A component written as text (`content-type`, `@path`) or already parsed. */
export function componentId(component: string | ComponentId): ComponentId {
  if (typeof component !== 'string') return component
  if (component.startsWith('"')) {
    const [name, params] = parseItem(component)
    if (typeof name !== 'string') throw bad(`component ${component} is not a string`)
    return { name, params }
  }
  return { name: component.toLowerCase(), params: new Map() }
}

/** The serialised identifier used on a base line and in `Signature-Input`. */
export const serializeComponentId = (id: ComponentId): string => serializeItem([id.name, id.params])

/** The value of one component in `view` (RFC 9421 §2.1–2.2). */
export function componentValue(view: HttpMessageView, id: ComponentId): string {
  let source = view
  if (id.params.has('req')) {
    if (view.request === undefined) throw missing(`component "${id.name}";req has no related request`)
    source = view.request
  }
  if (id.params.has('tr')) throw bad(`trailer component "${id.name}";tr is not supported`)
  return id.name.startsWith('@') ? derivedValue(source, id) : fieldValue(source, id)
}

function derivedValue(view: HttpMessageView, id: ComponentId): string {
  if (id.name === '@status') {
    if (view.status === undefined) throw missing('"@status" needs a response')
    return String(view.status).padStart(3, '0')
  }
  if (id.name === '@method') {
    if (view.method === undefined) throw missing('"@method" needs a request')
    return view.method
  }
  const target = splitTarget(view)
  const requestTarget = target.query === undefined ? target.path : `${target.path}?${target.query}`
  switch (id.name) {
    case '@path': return target.path
    case '@query': return `?${target.query ?? ''}`
    case '@request-target': return requestTarget
    case '@authority': return required(target.authority, '@authority')
    case '@scheme': return required(target.scheme, '@scheme')
    case '@target-uri':
      return target.absoluteUri ??
        `${required(target.scheme, '@target-uri')}://${required(target.rawAuthority, '@target-uri')}${requestTarget}`
    case '@query-param': return queryParamValue(target.query ?? '', id)
    default: throw bad(`unknown derived component "${id.name}"`)
  }
}

interface SplitTarget {
  path: string
  query?: string | undefined
  scheme?: string | undefined
  authority?: string | undefined
  rawAuthority?: string | undefined
  absoluteUri?: string | undefined
}

function splitTarget(view: HttpMessageView): SplitTarget {
  if (view.target === undefined) throw missing('derived components need a request target')
  const absolute = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/.exec(view.target)
  const origin = /^([^?#]*)(?:\?([^#]*))?/.exec(view.target)!
  const scheme = (absolute?.[1] ?? view.scheme)?.toLowerCase()
  const rawAuthority = view.authority ?? absolute?.[2] ?? hostField(view)
  return {
    path: (absolute === null ? origin[1] : absolute[3]) || '/',
    query: absolute === null ? origin[2] : absolute[4],
    scheme,
    rawAuthority,
    authority: rawAuthority === undefined ? undefined : normaliseAuthority(rawAuthority, scheme),
    absoluteUri: absolute === null ? undefined : view.target.replace(/#.*$/, ''),
  }
}

/** Lower-case host, userinfo dropped, default port dropped (RFC 9421 §2.2.3). */
function normaliseAuthority(authority: string, scheme: string | undefined): string {
  const host = authority.replace(/^.*@/, '').toLowerCase()
  const defaultPort = scheme === 'https' ? ':443' : scheme === 'http' ? ':80' : undefined
  return defaultPort !== undefined && host.endsWith(defaultPort) ? host.slice(0, -defaultPort.length) : host
}

function hostField(view: HttpMessageView): string | undefined {
  const lines = fieldLines(view, 'host')
  return lines.length === 0 ? undefined : lines.join(', ')
}

/** `@query-param;name=…`: decoded as a form, re-encoded with %20 for spaces (§2.2.8). */
function queryParamValue(query: string, id: ComponentId): string {
  const wanted = id.params.get('name')
  if (typeof wanted !== 'string') throw bad('"@query-param" needs a name parameter')
  const matches = query.split('&').filter((pair) => pair !== '').map((pair) => {
    const eq = pair.indexOf('=')
    const decode = (s: string) => encodeURIComponent(decodeFormComponent(s))
    return eq < 0 ? [decode(pair), ''] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))]
  }).filter(([name]) => name === wanted)
  if (matches.length === 0) throw missing(`query parameter "${wanted}" is absent`)
  if (matches.length > 1) throw bad(`query parameter "${wanted}" occurs more than once`)
  return matches[0]![1]!
}

function decodeFormComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    throw bad(`query component "${text.slice(0, 64)}" is not valid percent-encoding`)
  }
}

function fieldValue(view: HttpMessageView, id: ComponentId): string {
  const lines = fieldLines(view, id.name)
  if (lines.length === 0) throw missing(`header "${id.name}" is covered but absent`)
  if (id.params.has('bs')) return lines.map((line) => `:${toBase64(utf8(line))}:`).join(', ')
  const combined = lines.join(', ')
  const key = id.params.get('key')
  if (key !== undefined) {
    const member = parseStrict(() => parseDictionary(combined), id.name).get(String(key))
    if (member === undefined) throw missing(`dictionary "${id.name}" has no member "${String(key)}"`)
    return Array.isArray(member[0]) ? serializeInnerList(member as never) : serializeItem(member as never)
  }
  return id.params.has('sf') ? reserializeStructured(id.name, combined) : combined
}

/** Field lines of `name`, each with surrounding whitespace removed (§2.1). */
export function fieldLines(view: HttpMessageView, name: string): string[] {
  return view.fields.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v.replace(/^[ \t]+|[ \t]+$/g, ''))
}

function reserializeStructured(name: string, value: string): string {
  const type = STRUCTURED_FIELD_TYPES[name]
  if (type === 'list') return serializeList(parseStrict(() => parseList(value), name))
  if (type === 'item') return serializeItem(parseStrict(() => parseItem(value), name))
  if (type === 'dictionary') return serializeDictionary(parseStrict(() => parseDictionary(value), name))
  throw bad(`"${name}";sf: the structured type of this field is unknown`)
}

function parseStrict<T>(parse: () => T, name: string): T {
  try {
    return parse()
  } catch (cause) {
    throw new InvalidSignatureError(`httpsig: header "${name}" is not a valid structured field`, { code: CODE.badComponent, cause })
  }
}

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw missing(`"${name}" cannot be derived from this message`)
  return value
}

const bad = (message: string) => new InvalidSignatureError(`httpsig: ${message}`, { code: CODE.badComponent })
const missing = (message: string) => new InvalidSignatureError(`httpsig: ${message}`, { code: CODE.missingComponent })
