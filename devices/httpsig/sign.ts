/**
 * @module
 * Signing HTTP messages: `createSignature` is the RFC 9421 primitive (any key, any components,
 * parameters in the order given); `signRequest` signs with a node wallet the way AO's JS client
 * does, so a Hashbeam signature looks like an aoconnect one to every AO verifier:
 * components = every header, sorted; params `alg` and `keyid` (base64url of the raw public key);
 * label `http-sig-<hex of address bytes 1..8>`; a body is bound by `Content-Digest`.
 */
import type { BareItem, Parameters } from 'structured-headers'
import { privateKeyObject, publicKeyBytes, walletAddress, type Wallet } from '../../identity/keys.js'
import { signBytes, type SigningKey } from '../../identity/algorithms.js'
import { componentId, type ComponentId, type HttpMessageView } from './components.js'
import { buildSignatureBase, serializeSignatureParams, type SignatureShape } from './signature-base.js'
import { HEADER } from './constants.js'
import { contentDigestField } from './content-digest.js'
import { decodeBase64Any, toBase64, toBase64Url, utf8 } from './encoding.js'
import { serializeSignatureFields } from './signature-fields.js'
import type { HttpRequestLike } from './verify.js'

/** A signature made by `createSignature`. */
export interface CreatedSignature {
  readonly label: string
  readonly components: readonly ComponentId[]
  readonly params: Parameters
  /** The serialised `@signature-params` value (what follows `label=` in Signature-Input). */
  readonly paramsValue: string
  readonly signatureBase: string
  readonly signature: Uint8Array
}

/**
 * Signs `view` over `components`, with signature parameters in the given order, in the base
 * shape given (default RFC 9421; `hyperbeam` for what HyperBEAM verifies, signature-base.ts).
 */
export function createSignature(
  view: HttpMessageView,
  key: SigningKey,
  spec: {
    label: string, components: readonly (string | ComponentId)[], params: Iterable<readonly [string, BareItem]>
    shape?: SignatureShape
  },
): CreatedSignature {
  const components = spec.components.map(componentId)
  const params: Parameters = new Map(spec.params)
  const paramsValue = serializeSignatureParams(components, params)
  const signatureBase = buildSignatureBase(view, components, paramsValue, spec.shape)
  return { label: spec.label, components, params, paramsValue, signatureBase, signature: signBytes(key, utf8(signatureBase)) }
}

export interface SignRequestOptions {
  /** Components to cover; default every header (after Content-Digest is added), sorted. */
  readonly components?: readonly (string | ComponentId)[]
  readonly label?: string
  /** Extra signature parameters (`created`, `expires`, `nonce`, `tag`). */
  readonly params?: Readonly<Record<string, string | number>>
  /** How the keyid spells the public key: base64url (aoconnect, default) or base64 (HyperBEAM). */
  readonly keyidEncoding?: 'base64url' | 'base64'
}

export interface SignedRequest {
  /** The request's headers (lower-case names) plus content-digest, signature-input, signature. */
  readonly headers: Record<string, string>
  readonly label: string
  readonly signatureBase: string
  readonly signature: Uint8Array
}

/** Signs a request (or a node reply's headers) with a wallet. Existing signatures are kept. */
export function signRequest(wallet: Wallet, req: HttpRequestLike, opts: SignRequestOptions = {}): SignedRequest {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) headers[name.toLowerCase()] = value
  if (req.body !== undefined && req.body.length > 0 && headers[HEADER.contentDigest] === undefined) {
    headers[HEADER.contentDigest] = contentDigestField(req.body)
  }
  const isSignatureField = (name: string) => name === HEADER.signature || name === HEADER.signatureInput
  const components = opts.components ?? Object.keys(headers).filter((n) => !isSignatureField(n)).sort()
  const publicKey = publicKeyBytes(wallet)
  const params = {
    alg: wallet.kind === 'rsa' ? 'rsa-pss-sha512' : 'ed25519',
    keyid: opts.keyidEncoding === 'base64' ? toBase64(publicKey) : toBase64Url(publicKey),
    ...opts.params,
  }
  const key: SigningKey = { alg: wallet.kind === 'rsa' ? 'rsa-pss-sha512' : 'ed25519', key: privateKeyObject(wallet) }
  const view: HttpMessageView = { method: req.method, target: req.url, fields: Object.entries(headers) }
  const created = createSignature(view, key, {
    label: opts.label ?? aoconnectLabel(walletAddress(wallet)),
    components,
    params: Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  })
  const fields = serializeSignatureFields([created])
  const append = (name: string, value: string) => (headers[name] === undefined ? value : `${headers[name]}, ${value}`)
  headers[HEADER.signatureInput] = append(HEADER.signatureInput, fields['signature-input'])
  headers[HEADER.signature] = append(HEADER.signature, fields.signature)
  return { headers, label: created.label, signatureBase: created.signatureBase, signature: created.signature }
}

/** aoconnect's label: `http-sig-` + hex of bytes 1..8 of the decoded address. */
export function aoconnectLabel(address: string): string {
  const bytes = decodeBase64Any(address) ?? new Uint8Array()
  return `http-sig-${Buffer.from(bytes.subarray(1, 9)).toString('hex')}`
}
