/**
 * @module
 * The one interface every TEE sits behind. A provider knows one kind of hardware evidence:
 *
 * - `collect(binding)` asks the local hardware for evidence over 32 bytes (the TEE binding of a
 *   report, see report.ts) and answers `undefined` when this machine has no such TEE or its tool
 *   is missing — never an error, so a node without a TEE still serves self-signed reports.
 * - `verify(evidence, binding, opts)` appraises evidence in pure TypeScript, offline, with the
 *   provider's pinned roots. It never throws: each step becomes a named check.
 *
 * A check is `required` unless it is a policy check with nothing configured (a trusted list left
 * empty): such a check reports `ok: false` ("no trusted list configured") without making the
 * evidence invalid, because it is the relying party's policy, not a property of the evidence.
 *
 * Network look-ups (OCSP, AMD KDS for a missing VCEK, NVIDIA RIMs/NRAS) are deliberately not
 * made: `fetchSeam` documents where such an optional, off-by-default step would plug in.
 */
import type { Message, Value } from '../../../core/types.js'

export type TeeKind = 'sev-snp' | 'nvidia-cc'

/** One named step of a verification. */
export interface Check {
  name: string
  ok: boolean
  detail: string
  /** False for advisory checks (a policy with nothing configured). Default true. */
  required?: boolean
}

export interface TeeVerifyOptions {
  /** The time certificates must be valid at (default: now). */
  now?: Date
}

export interface TeeProvider {
  readonly type: TeeKind
  /** Evidence over `binding` (32 bytes) from this machine, or undefined when there is no TEE. */
  collect(binding: Uint8Array): Promise<Message | undefined>
  /** Appraises evidence against `binding`. Never throws. */
  verify(evidence: Value, binding: Uint8Array, opts?: TeeVerifyOptions): Promise<Check[]>
}

/**
 * Where optional network appraisal would go (OCSP for every certificate, AMD KDS for a VCEK the
 * evidence lacks, NVIDIA RIMs for golden GPU measurements). Off by default and not implemented:
 * a provider given one would call it after the offline checks and add its checks to the list.
 */
export type FetchSeam = (what: 'ocsp' | 'vcek' | 'rim', request: Message) => Promise<Message | undefined>

/**
 * A value made on first use, once. Providers make their verifiers this way, from modules loaded
 * then: certificate handling (@peculiar/x509) takes ~0.25 s to load, a fifth of the node's
 * start, which a node that never sees TEE evidence should not pay. A failure is kept (it is a
 * configuration error, such as a root that does not parse), so every call reports it.
 */
export function onFirstUse<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined
  return () => (made ??= make())
}

/** A check. */
export const check = (name: string, ok: boolean, detail: string, required = true): Check =>
  required ? { name, ok, detail } : { name, ok, detail, required: false }

/** True when there is at least one check and every required one passed. */
export const requiredPass = (checks: readonly Check[]): boolean =>
  checks.length > 0 && checks.every((c) => c.ok || c.required === false)

/**
 * The check of a value against a trusted list: required when the list is configured, advisory
 * (and not ok) when it is empty.
 */
export function trustedListCheck(name: string, value: string, trusted: readonly string[] | undefined, what: string): Check {
  const list = (trusted ?? []).map((t) => t.toLowerCase())
  if (list.length === 0) return check(name, false, `no trusted list configured (${what} ${value})`, false)
  const ok = list.includes(value.toLowerCase())
  return check(name, ok, ok ? `${what} ${value} is trusted` : `${what} ${value} is not in the trusted list (${list.length} entries)`)
}

/** Runs a verification step, turning a throw into a failed check. */
export function guarded(name: string, step: () => Check | Check[]): Check[] {
  try {
    const out = step()
    return Array.isArray(out) ? out : [out]
  } catch (err) {
    return [check(name, false, err instanceof Error ? err.message : String(err))]
  }
}

/** Lower-case hex of bytes. */
export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/** Decodes standard or URL-safe base64; throws on anything else. */
export function decodeBase64(text: string, what: string): Uint8Array {
  const clean = text.replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean) || clean.length === 0) throw new Error(`${what} is not base64`)
  return new Uint8Array(Buffer.from(clean.replace(/-/g, '+').replace(/_/g, '/'), 'base64'))
}

/** Equal-length byte comparison (the inputs are public; no timing concern). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}
