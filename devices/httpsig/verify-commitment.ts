/**
 * @module
 * Re-verifying a stored httpsig commitment against the message that carries it, long after the
 * HTTP request is gone (`message@1.0/verify`).
 *
 * The commitment keeps the exact signature base (commitments.ts), so two checks suffice:
 * 1. the signature: the key named by `keyid`/`type` signed those bytes, and the base's own
 *    `@signature-params` line names that same key and algorithm;
 * 2. the binding: every header line of the base decodes (through the base's own `ao-types`
 *    line, the way the HTTP layer decoded it) to the value the message now holds for that key,
 *    and a covered `content-digest` is the digest of the message's body key.
 * Derived components (`@path`, `@method`, in either base shape) were checked against the HTTP
 * request on arrival; a message keeps no copy of them, so they are part of what was signed but
 * not compared here. Body framing (`content-length`, a multipart `content-type`) is no key; a
 * multipart body became keys at every depth, so its digest cannot be re-checked from the
 * message and those keys are not reported as covered.
 * The keys the commitment covers are read off the base the same way: each header line is its
 * key, `content-digest` is the body key, a covered `ao-types` covers the keys it types `empty-*`;
 * derived components cover no key of the message.
 * Components with parameters (`;sf`, `;key`, `;bs`, `;req`) transform their value and cannot be
 * compared with a key, so a commitment that covers one is reported as unverifiable.
 */
import { parseList } from 'structured-headers'
import { sameValue } from '../../core/codec.js'
import { isAoError } from '../../core/errors.js'
import type { Message, Value } from '../../core/types.js'
import { verifyBytes } from '../../identity/algorithms.js'
import { decodeTypedValue, parseAoTypes } from './ao-types.js'
import { checkContentDigest } from './content-digest.js'
import { DEFAULT_BODY_KEY, HEADER, isBodyFraming } from './constants.js'
import { decodeBase64Any, utf8 } from './encoding.js'
import { resolveAoKey } from './keys.js'

/** The outcome of checking one commitment. */
export interface CommitmentCheck {
  readonly valid: boolean
  /** Why it failed (for people; absent when valid). */
  readonly reason?: string
  /**
   * When valid: the message keys the signature really covers, derived from what was signed
   * (never from the commitment's own `committed` list, which anyone can edit).
   */
  readonly covered?: readonly string[]
}

const LINE = /^"([^"]+)"(;[^:]*)?: (.*)$/
const fail = (reason: string): CommitmentCheck => ({ valid: false, reason })

/** Checks one `httpsig@1.0` commitment of `message`. Never throws. */
export function verifyHttpsigCommitment(message: Message, commitment: Message): CommitmentCheck {
  try {
    const base = commitment['signature-base']
    if (typeof base !== 'string') return fail('the commitment records no signature-base')
    const { type, keyid } = commitment
    if (typeof type !== 'string') return fail('the commitment has no type')
    const signature = typeof commitment.signature === 'string' ? decodeBase64Any(commitment.signature) : undefined
    if (signature === undefined || signature.length === 0) return fail('the commitment signature is not base64')
    const resolved = resolveAoKey(typeof keyid === 'string' ? keyid : undefined, type)
    if (resolved === undefined) return fail(`no key is known for keyid "${String(keyid).slice(0, 40)}"`)
    if (resolved.committer !== commitment.committer) return fail('the committer is not the address of the keyid')
    const lines = base.split('\n')
    const paramsLine = lines.pop() ?? ''
    const params = readParams(paramsLine, type, typeof keyid === 'string' ? keyid : undefined)
    if (typeof params === 'string') return fail(params)
    if (!verifyBytes(resolved.key, utf8(base), signature)) return fail('the signature does not verify')
    return checkBinding(message, lines, params)
  } catch (err) {
    return fail(isAoError(err) || err instanceof Error ? err.message : 'unverifiable commitment')
  }
}

/**
 * The base's `@signature-params` line must name the commitment's algorithm and key; gives the
 * covered component names, in base order, or why the line is wrong.
 */
function readParams(line: string, type: string, keyid: string | undefined): string[] | string {
  const prefix = '"@signature-params": '
  if (!line.startsWith(prefix)) return 'the signature base does not end with @signature-params'
  const [member] = parseList(line.slice(prefix.length))
  const params = member?.[1]
  if (member === undefined || params === undefined || !Array.isArray(member[0])) return 'the @signature-params line is not an inner list'
  const alg = params.get('alg')
  if (alg !== undefined && alg !== type) return `the base was signed as ${String(alg)}, the commitment says ${type}`
  if (params.get('keyid') !== keyid) return 'the base names another keyid than the commitment'
  return member[0].map(([name]) => String(name))
}

/**
 * Every header line of the base must match the message. Lines pair with the covered list of
 * `@signature-params`: a derived component's line (RFC 9421's `"@path"`, HyperBEAM's `"path"`)
 * was checked against the request on arrival and covers no key.
 */
function checkBinding(message: Message, lines: string[], components: readonly string[]): CommitmentCheck {
  if (lines.length !== components.length) return fail('the signature base has another number of lines than it covers')
  const parsed = lines.map((line) => LINE.exec(line))
  if (parsed.some((m) => m === null)) return fail('the signature base has a line that is not a component')
  const entries = parsed.map((m, i) => ({ name: m![1]!, params: m![2] ?? '', value: m![3]!, component: components[i]! }))
  if (entries.some((e) => e.params !== '')) return fail('a covered component has parameters; it cannot be compared with a key')
  if (entries.some((e) => e.name !== e.component && !(e.component.startsWith('@') && e.name === e.component.slice(1)))) {
    return fail('a line of the signature base is not the component it stands for')
  }
  const typesLine = entries.find((e) => e.name === HEADER.aoTypes)
  const types = typesLine === undefined ? new Map<string, string>() : parseAoTypes(typesLine.value)
  const bodyKey = entries.find((e) => e.name === HEADER.inlineBodyKey)?.value.trim().toLowerCase() || DEFAULT_BODY_KEY
  // A multipart body became keys at every depth; its digest cannot be checked against them.
  const multipart = entries.some((e) => e.name === 'content-type' && isBodyFraming(e.name, e.value))
  const covered = new Set<string>()
  for (const { name, value, component } of entries) {
    if (component.startsWith('@') || isBodyFraming(name, value)) continue
    if (name === HEADER.aoTypes || name === HEADER.signature || name === HEADER.signatureInput) continue
    if (name === HEADER.contentDigest) {
      if (multipart) continue
      checkContentDigest(value, asBytes(message[bodyKey]))
      covered.add(bodyKey)
      continue
    }
    const type = types.get(name)
    const expected = type === undefined ? value : decodeTypedValue(type, value, name)
    if (!sameValue(message[name], expected)) return fail(`key "${name}" differs from the signed value`)
    covered.add(name)
  }
  if (typesLine !== undefined) {
    for (const [key, type] of types) {
      if (!type.startsWith('empty-')) continue
      if (!sameValue(message[key], decodeTypedValue(type, '', key))) return fail(`key "${key}" differs from the signed empty value`)
      covered.add(key)
    }
  }
  return { valid: true, covered: [...covered].sort() }
}

function asBytes(value: Value | undefined): Uint8Array {
  if (value === undefined) return new Uint8Array()
  if (value instanceof Uint8Array) return value
  return typeof value === 'string' ? utf8(value) : utf8(String(value))
}

/** Equality in the data model (core/codec.ts), as the commitment checks use it. */
export { sameValue }
