/**
 * @module
 * Names shared by the httpsig@1.0 code: algorithms (RFC 9421 registry names plus AO's
 * `ethereum`), header names, and the stable error codes clients can switch on.
 */

/** The signature algorithms this node verifies. */
export const SIGNATURE_ALGORITHMS = [
  'rsa-pss-sha512', 'rsa-v1_5-sha256', 'ed25519', 'ecdsa-p256-sha256', 'hmac-sha256', 'ethereum',
] as const
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number]

export const isSignatureAlgorithm = (alg: string): alg is SignatureAlgorithm =>
  (SIGNATURE_ALGORITHMS as readonly string[]).includes(alg)

/** The commitment device name written into `commitments`. */
export const HTTPSIG_DEVICE = 'httpsig@1.0'

/**
 * HMAC keyids that HyperBEAM uses for its public "unsigned" commitments: the key is the keyid
 * text itself (`constant` scheme), so anyone can recompute them. They carry no committer.
 */
export const CONSTANT_HMAC_KEYIDS: readonly string[] = ['ao', 'constant:ao']

/** The keyid scheme prefix HyperBEAM puts before a raw public key. */
export const PUBLICKEY_SCHEME = 'publickey:'

/** Header names (lower-case). */
export const HEADER = {
  signature: 'signature',
  signatureInput: 'signature-input',
  contentDigest: 'content-digest',
  aoTypes: 'ao-types',
  inlineBodyKey: 'inline-body-key',
} as const

/**
 * Covered fields that frame the body rather than carry a key: `content-length` (fixed by the
 * body, which `content-digest` binds) and a `multipart/*` `content-type` (its parts are the
 * keys; HyperBEAM drops it too). hbsig covers both.
 */
export const isBodyFraming = (name: string, value: string): boolean =>
  name === 'content-length' || (name === 'content-type' && /^\s*multipart\//i.test(value))

/** The message key an HTTP body lands in unless `inline-body-key` names another. */
export const DEFAULT_BODY_KEY = 'body'

/** Derived components that name a message key (HyperBEAM maps `@path` to `path`). */
export const DERIVED_COMPONENT_KEYS: Readonly<Record<string, string>> = { '@path': 'path', '@method': 'method' }

/**
 * RFC 9421 `tag` values the node gives its own signatures (domain separation, DESIGN §11).
 * `operator`: what the `hashbeam` CLI puts on a privileged request it signs with the node's
 * wallet; the node never signs anything with it, and its own key authorises a privileged action
 * only under it. `reply`: every reply the node signs (`accept-signature`, `sign-replies`); it
 * never authorises anything, whoever presents it.
 */
export const SIGNATURE_TAG = { operator: 'hashbeam-operator', reply: 'hashbeam-reply' } as const

/** Stable error codes (all InvalidSignatureError, HTTP 400). */
export const CODE = {
  invalid: 'invalid-signature',
  malformed: 'malformed-signature-input',
  missing: 'missing-signature',
  unsupportedAlg: 'unsupported-signature-alg',
  unknownKey: 'unknown-signature-key',
  badKeyid: 'invalid-keyid',
  missingComponent: 'missing-signature-component',
  badComponent: 'invalid-signature-component',
  /** A HyperBEAM-shape field (`path`, `method`, …) names another target than the request's. */
  targetMismatch: 'signature-target-mismatch',
  expired: 'signature-expired',
  digestMismatch: 'content-digest-mismatch',
  digestMalformed: 'malformed-content-digest',
  digestUnsupported: 'unsupported-digest-alg',
} as const

/** Stable error codes for typed headers (InvalidRequestError, HTTP 400). */
export const TYPES_CODE = {
  badTypes: 'invalid-ao-types',
  badValue: 'invalid-typed-value',
} as const
