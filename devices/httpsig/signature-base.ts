/**
 * @module
 * The signature base (RFC 9421 §2.5) in the two shapes AO signers write it. Both list covered
 * components the same way in `Signature-Input` (`("@path" "greeting")`); they differ in how the
 * line of a derived component reads:
 *
 * | shape       | line                  | value                          | signers                        |
 * | ----------- | --------------------- | ------------------------------ | ------------------------------ |
 * | `rfc9421`   | `"@path": /a/b`       | derived from the message       | RFC 9421, aoconnect, our CLI   |
 * | `hyperbeam` | `"path": /a/b`        | the message's own `path` key   | HyperBEAM, hbsig               |
 *
 * HyperBEAM (`dev_codec_httpsig:signature_base`) strips the `@` and reads the key of that name
 * from the message, for `method`, `target-uri`, `authority`, `scheme`, `request-target`, `path`,
 * `query`, `query-param` and `status` written without parameters. A HyperBEAM line takes the
 * field of that name when the message carries one (hbsig sends a `path` header), else the value
 * derived from the message, as HyperBEAM's own request message holds it.
 *
 * A field is bound to the content: it must say what the message itself says (a `path` equal to
 * the request's path, or to its path and query), else the base records a `conflict`, which the
 * verifier reports once the signature has verified over it (`signature-target-mismatch`). So a
 * HyperBEAM-shape signature can no more be moved to another target than an RFC one. What of the
 * request target a base binds (`binds`) is worked out here, for both shapes, from what the
 * lines really hold (request-target.ts turns it into the privileged-request rule).
 */
import { serializeInnerList, serializeItem, type BareItem, type Parameters } from 'structured-headers'
import { InvalidSignatureError } from '../../core/errors.js'
import { componentId, componentValue, fieldLines, serializeComponentId, type ComponentId, type HttpMessageView } from './components.js'
import { CODE } from './constants.js'

/** How derived components are written in the base (see the table above). */
export type SignatureShape = 'rfc9421' | 'hyperbeam'

/** A part of the request target a signature binds. */
export type TargetPart = 'path' | 'query'

/** A built signature base. */
export interface SignatureBase {
  readonly text: string
  /** What of the request target the covered lines fix (empty for a response). */
  readonly binds: readonly TargetPart[]
  /** Why a HyperBEAM field contradicts the message, when one does. */
  readonly conflict?: string
}

/** HyperBEAM's derived components (`dev_codec_httpsig_siginfo`'s list, plus `status`). */
const HYPERBEAM_DERIVED = new Set([
  '@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query', '@query-param', '@status',
])

/** Target parts an RFC 9421 derived component fixes (it is computed from the request itself). */
const TARGET_PARTS: Readonly<Record<string, readonly TargetPart[]>> = {
  '@path': ['path'], '@query': ['query'], '@request-target': ['path', 'query'], '@target-uri': ['path', 'query'],
}

const isHyperbeamDerived = (id: ComponentId): boolean => id.params.size === 0 && HYPERBEAM_DERIVED.has(id.name)

/**
 * The component that covers message key `key` in HyperBEAM's shape: `"@path"` for `path` (its
 * line then reads `"path": <value>`), the key itself for ordinary keys. HyperBEAM lists those
 * keys that way whatever the message (`add_derived_specifiers`), and verifies only that form.
 */
export const hyperbeamComponent = (key: string): string => (HYPERBEAM_DERIVED.has(`@${key}`) ? `@${key}` : key)

/** True when the two shapes give different bases for these components. */
export const hasHyperbeamForm = (components: readonly ComponentId[]): boolean => components.some(isHyperbeamDerived)

/** The base text: one line per component, then `@signature-params`. */
export function buildSignatureBase(
  view: HttpMessageView, components: readonly ComponentId[], paramsValue: string, shape: SignatureShape = 'rfc9421',
): string {
  return signatureBase(view, components, paramsValue, shape).text
}

/** The base with what it binds; throws InvalidSignatureError when a component cannot be read. */
export function signatureBase(
  view: HttpMessageView, components: readonly ComponentId[], paramsValue: string, shape: SignatureShape,
): SignatureBase {
  const seen = new Set<string>()
  const lines: string[] = []
  const binds = new Set<TargetPart>()
  let conflict: string | undefined
  for (const id of components) {
    if (id.name === '@signature-params') throw bad('"@signature-params" cannot be a covered component')
    const hyperbeam = shape === 'hyperbeam' && isHyperbeamDerived(id)
    const identifier = hyperbeam ? serializeItem([id.name.slice(1), new Map()]) : serializeComponentId(id)
    if (seen.has(identifier)) throw bad(`component ${identifier} is covered twice`)
    seen.add(identifier)
    let value: string
    if (hyperbeam) {
      const line = hyperbeamLine(view, id)
      value = line.value
      conflict ??= line.conflict
      for (const part of line.binds) binds.add(part)
    } else {
      value = componentValue(view, id)
      if (!id.params.has('req')) for (const part of TARGET_PARTS[id.name] ?? []) binds.add(part)
    }
    if (/[\r\n]/.test(value)) throw bad(`component ${identifier} has a line break in its value`)
    lines.push(`${identifier}: ${value}`)
  }
  lines.push(`"@signature-params": ${paramsValue}`)
  return { text: lines.join('\n'), binds: [...binds], ...(conflict !== undefined && { conflict }) }
}

/** `@signature-params` value: the covered list with the signature parameters. */
export const serializeSignatureParams = (components: readonly ComponentId[], params: Parameters): string =>
  serializeInnerList([components.map((c) => [c.name, c.params] as [BareItem, Parameters]), params])

interface Line {
  readonly value: string
  readonly binds: readonly TargetPart[]
  readonly conflict?: string
}

function hyperbeamLine(view: HttpMessageView, id: ComponentId): Line {
  const lines = fieldLines(view, id.name.slice(1))
  const derived = derivedOrUndefined(view, id)
  if (lines.length === 0) {
    // No field: the value is the derived one (componentValue throws the precise error if none).
    return { value: derived ?? componentValue(view, id), binds: TARGET_PARTS[id.name] ?? [] }
  }
  const value = lines.join(', ')
  // A message with nothing to derive it from (a reply's own `path` key) holds it as a key.
  if (derived === undefined) return { value, binds: [] }
  const binds = agreement(view, id.name, value, derived)
  if (binds !== undefined) return { value, binds }
  return {
    value, binds: [],
    conflict: `the signed ${id.name.slice(1)} "${value.slice(0, 120)}" is not this message's (${derived.slice(0, 120)})`,
  }
}

function derivedOrUndefined(view: HttpMessageView, id: ComponentId): string | undefined {
  try {
    return componentValue(view, id)
  } catch (err) {
    if (err instanceof InvalidSignatureError) return undefined
    throw err
  }
}

/** The target parts a field fixes when it says what the message says; undefined when it does not. */
function agreement(view: HttpMessageView, name: string, value: string, derived: string): readonly TargetPart[] | undefined {
  switch (name) {
    case '@path': {
      if (sameTarget(value, derived)) return ['path']
      const whole = componentValue(view, componentId('@request-target'))
      return sameTarget(value, whole) ? ['path', 'query'] : undefined
    }
    case '@request-target': return sameTarget(value, derived) ? ['path', 'query'] : undefined
    case '@target-uri': return value === derived || urlForm(value, '') === derived ? ['path', 'query'] : undefined
    case '@query': return value === derived || `?${value}` === derived ? ['query'] : undefined
    case '@method': return value.toUpperCase() === derived.toUpperCase() ? [] : undefined
    case '@authority':
    case '@scheme': return value.toLowerCase() === derived ? [] : undefined
    default: return value === derived ? [] : undefined
  }
}

/**
 * A path (and query) as signed against one as requested: equal, or equal once written as a URL
 * (what `fetch` sends for it: `a b` → `a%20b`, a missing leading `/` added). Never decoded the
 * other way: `%2F` and `/` route differently here.
 */
function sameTarget(signed: string, requested: string): boolean {
  return signed === requested || urlForm(signed, signed.startsWith('/') ? 'http://h' : 'http://h/') === requested
}

/** Path and query of `prefix + text` parsed as a URL (prefix '' = an absolute URL: its href). */
function urlForm(text: string, prefix: string): string | undefined {
  try {
    const url = new URL(prefix + text)
    return prefix === '' ? url.href.replace(/#.*$/, '') : url.pathname + url.search
  } catch {
    return undefined
  }
}

const bad = (message: string) => new InvalidSignatureError(`httpsig: ${message}`, { code: CODE.badComponent })
