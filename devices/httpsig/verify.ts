/**
 * @module
 * Verifying RFC 9421 signatures on an incoming message. Every signature present must verify;
 * one bad signature fails the whole message with a 400 (never "verified, minus one"), because a
 * node that silently ignored a forged signature would attribute the request to nobody while
 * the client believes it is attributed.
 *
 * AO conventions handled here (see interop.md §8): signatures over headers only (aoconnect signs
 * no derived component and no `created`), `alg` always given, keyid = raw public key, and the
 * body bound through a `Content-Digest` whose encoding may be base64url.
 *
 * Two base shapes (signature-base.ts): the RFC 9421 one is tried first; when the signature
 * covers a derived component HyperBEAM writes its own way (`"path": …` for `"@path"`) and the
 * RFC base does not verify, HyperBEAM's is tried. Only signatures over such components pay for
 * a second check, and only when the first fails.
 */
import { InvalidSignatureError } from '../../core/errors.js'
import { verifyBytes, type VerificationKey } from '../../identity/algorithms.js'
import { parseAoTypes } from './ao-types.js'
import type { HttpMessageView } from './components.js'
import { checkContentDigest } from './content-digest.js'
import {
  CODE, DEFAULT_BODY_KEY, DERIVED_COMPONENT_KEYS, HEADER, isBodyFraming, isSignatureAlgorithm, type SignatureAlgorithm,
} from './constants.js'
import { utf8 } from './encoding.js'
import { resolveAoKey, type KeyResolver } from './keys.js'
import { hasHyperbeamForm, signatureBase, type SignatureBase, type SignatureShape, type TargetPart } from './signature-base.js'
import { parseSignatureFields, type SignatureEntry } from './signature-fields.js'

/** An HTTP request as the HTTP layer hands it over. */
export interface HttpRequestLike {
  readonly method: string
  /** Absolute URL or origin form (`/path?query`); `@authority` then comes from Host. */
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: Uint8Array
}

/** One signature that verified. */
export interface VerifiedSignature {
  readonly label: string
  readonly alg: SignatureAlgorithm
  readonly keyid?: string
  /** The signer's address (base64url sha256 of the public key); absent for HMAC. */
  readonly committer?: string
  /** Covered component names, in signed order (`signing-format`, `@path`, …). */
  readonly covered: string[]
  /** Message keys this signature commits (header names, `path` for `@path`, the body key). */
  readonly committed: string[]
  readonly signature: Uint8Array
  /** The signature parameters other than alg and keyid (`created`, `expires`, `nonce`, `tag`). */
  readonly params: Readonly<Record<string, string | number | boolean>>
  readonly signatureBase: string
  /** How the base was written: RFC 9421's derived lines or HyperBEAM's (signature-base.ts). */
  readonly shape: SignatureShape
  /** What of the request target the signature fixes (`path`, `query`); empty for headers only. */
  readonly binds: readonly TargetPart[]
}

export interface VerifyResult {
  readonly signatures: VerifiedSignature[]
  /** Keys committed by at least one signature, sorted; empty for an unsigned request. */
  readonly committedKeys: string[]
}

export interface VerifyOptions {
  /** Shared secrets for `hmac-sha256`, by keyid. */
  readonly hmacKeys?: Readonly<Record<string, Uint8Array>>
  /** Replaces AO keyid resolution (e.g. for named test keys). */
  readonly resolveKey?: KeyResolver
  /** Current time in seconds, for `expires` (default: the clock). */
  readonly now?: number
  /** Verify only these labels (each must be present). */
  readonly labels?: readonly string[]
}

/**
 * Verifies every signature of a request and the body's Content-Digest. An unsigned request
 * gives `{signatures: [], committedKeys: []}`; any bad signature throws InvalidSignatureError.
 */
export function verifyRequestSignatures(req: HttpRequestLike, opts: VerifyOptions = {}): VerifyResult {
  const fields = Object.entries(req.headers).map(([name, value]) => [name.toLowerCase(), value] as const)
  const header = (name: string) => fields.find(([n]) => n === name)?.[1]
  const digest = header(HEADER.contentDigest)
  // A body that contradicts its own digest is corrupt whether or not a signature covers it.
  if (digest !== undefined) checkContentDigest(digest, req.body ?? new Uint8Array())
  const signatures = verifyMessageSignatures({ method: req.method, target: req.url, fields }, opts)
  const committed = new Set(signatures.flatMap((s) => s.committed))
  return { signatures, committedKeys: [...committed].sort() }
}

/** Verifies the signatures of any message view (requests, responses, RFC examples). */
export function verifyMessageSignatures(view: HttpMessageView, opts: VerifyOptions = {}): VerifiedSignature[] {
  const input = combinedField(view, HEADER.signatureInput)
  const signature = combinedField(view, HEADER.signature)
  if (input === undefined && signature === undefined) {
    if (opts.labels !== undefined && opts.labels.length > 0) throw missingSignature(`no signature "${opts.labels[0]}"`)
    return []
  }
  if (input === undefined || signature === undefined) {
    throw missingSignature(`${input === undefined ? 'Signature' : 'Signature-Input'} is present without its pair`)
  }
  let entries = parseSignatureFields(input, signature)
  if (opts.labels !== undefined) {
    for (const label of opts.labels) if (!entries.some((e) => e.label === label)) throw missingSignature(`no signature "${label}"`)
    entries = entries.filter((e) => opts.labels!.includes(e.label))
  }
  return entries.map((entry) => verifyEntry(view, entry, opts))
}

function verifyEntry(view: HttpMessageView, entry: SignatureEntry, opts: VerifyOptions): VerifiedSignature {
  const { alg, keyid, ...rest } = Object.fromEntries(entry.params) as Record<string, unknown>
  const algParam = alg as string | undefined
  const keyidParam = keyid as string | undefined
  const resolved = opts.resolveKey !== undefined
    ? opts.resolveKey(keyidParam, algParam)
    : resolveAoKey(keyidParam, algParam, opts.hmacKeys)
  if (resolved === undefined) {
    throw new InvalidSignatureError(`httpsig: no key is known for signature "${entry.label}"`, {
      code: CODE.unknownKey, detail: { label: entry.label, ...(keyidParam !== undefined && { keyid: keyidParam }) },
    })
  }
  if (algParam !== undefined && (!isSignatureAlgorithm(algParam) || algParam !== resolved.key.alg)) {
    throw new InvalidSignatureError(`httpsig: "${entry.label}" says alg ${algParam} but its key is ${resolved.key.alg}`, {
      code: CODE.unsupportedAlg,
    })
  }
  const now = opts.now ?? Math.floor(Date.now() / 1000)
  if (typeof rest.expires === 'number' && rest.expires < now) {
    throw new InvalidSignatureError(`httpsig: signature "${entry.label}" expired at ${rest.expires}`, { code: CODE.expired })
  }
  const { base, shape } = verifiedBase(view, entry, resolved.key)
  return {
    label: entry.label,
    alg: resolved.key.alg,
    ...(keyidParam !== undefined && { keyid: keyidParam }),
    ...(resolved.committer !== undefined && { committer: resolved.committer }),
    covered: entry.components.map((c) => c.name),
    committed: committedKeys(view, entry),
    signature: entry.signature,
    params: rest as Record<string, string | number | boolean>,
    signatureBase: base.text,
    shape,
    binds: base.binds,
  }
}

/**
 * The base the signature verifies over: RFC 9421's, else HyperBEAM's when it differs. A
 * HyperBEAM base whose field contradicts the message is refused even though it verified: the
 * signature is real, but for another target.
 */
function verifiedBase(view: HttpMessageView, entry: SignatureEntry, key: VerificationKey): { base: SignatureBase; shape: SignatureShape } {
  const verifies = (base: SignatureBase) => verifyBytes(key, utf8(base.text), entry.signature)
  const rfc = attempt(() => signatureBase(view, entry.components, entry.paramsValue, 'rfc9421'))
  if (rfc.base !== undefined && verifies(rfc.base)) return { base: rfc.base, shape: 'rfc9421' }
  const hyperbeam = hasHyperbeamForm(entry.components)
    ? attempt(() => signatureBase(view, entry.components, entry.paramsValue, 'hyperbeam'))
    : undefined
  if (hyperbeam?.base !== undefined && verifies(hyperbeam.base)) {
    const { conflict } = hyperbeam.base
    if (conflict !== undefined) {
      throw new InvalidSignatureError(`httpsig: signature "${entry.label}": ${conflict}`, {
        code: CODE.targetMismatch, detail: { label: entry.label },
      })
    }
    return { base: hyperbeam.base, shape: 'hyperbeam' }
  }
  if (hyperbeam?.base === undefined && rfc.error !== undefined) throw rfc.error
  throw new InvalidSignatureError(`httpsig: signature "${entry.label}" does not verify`, {
    code: CODE.invalid, detail: { label: entry.label, alg: key.alg },
  })
}

function attempt(build: () => SignatureBase): { base?: SignatureBase; error?: unknown } {
  try {
    return { base: build() }
  } catch (error) {
    if (error instanceof InvalidSignatureError) return { error }
    throw error
  }
}

/**
 * The message keys a signature commits: each covered header by name, `@path`/`@method` as
 * `path`/`method` (in either base shape), `content-digest` as the body key (the digest binds the
 * body; for a multipart body the HTTP layer names the keys its parts became), and no key for
 * body framing (`content-length`, a multipart `content-type`). A covered
 * `ao-types` is type metadata, not a key, but it alone carries the keys typed `empty-*` (they
 * have no header), so those are committed through it.
 */
function committedKeys(view: HttpMessageView, entry: SignatureEntry): string[] {
  const bodyKey = combinedField(view, HEADER.inlineBodyKey)?.trim().toLowerCase() || DEFAULT_BODY_KEY
  const keys = entry.components.flatMap(({ name, params }): string[] => {
    if (params.has('req')) return []
    if (name.startsWith('@')) return DERIVED_COMPONENT_KEYS[name] === undefined ? [] : [DERIVED_COMPONENT_KEYS[name]]
    if (name === HEADER.contentDigest) return [bodyKey]
    if (isBodyFraming(name, combinedField(view, name) ?? '')) return []
    if (name === HEADER.aoTypes) return emptyTypedKeys(combinedField(view, HEADER.aoTypes))
    if (name === HEADER.signature || name === HEADER.signatureInput) return []
    return [name.toLowerCase()]
  })
  return [...new Set(keys)]
}

function emptyTypedKeys(aoTypes: string | undefined): string[] {
  if (aoTypes === undefined) return []
  return [...parseAoTypes(aoTypes)].filter(([, type]) => type.startsWith('empty-')).map(([key]) => key)
}

function combinedField(view: HttpMessageView, name: string): string | undefined {
  const lines = view.fields.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v)
  return lines.length === 0 ? undefined : lines.join(', ')
}

const missingSignature = (message: string) => new InvalidSignatureError(`httpsig: ${message}`, { code: CODE.missing })
