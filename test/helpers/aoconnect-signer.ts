/**
 * A request signed by aoconnect's own signer (`createSigner(jwk)` from @permaweb/aoconnect
 * 0.0.98: RSA-PSS/SHA-512 with the maximum salt, keyid = base64url modulus, label
 * `http-sig-<hex>`), through the signer interface ao-core-libs uses itself: `signer(create,
 * 'httpsig')`, where `create` hands back the RFC 9421 base to sign. The base covers `@path`,
 * every field and the body digest, sorted — what ao-core-libs' `toSigBaseArgs` produces with
 * `includePath: true`. Its `request()` leaves the path out (interop.md §1.3), which is enough for
 * ordinary requests but can never authorise a privileged one (docs/security.md).
 */
import type { createSigner } from '@permaweb/aoconnect'
import {
  aoconnectLabel, buildSignatureBase, componentId, contentDigestField, serializeSignatureParams,
} from '../../devices/httpsig/index.js'

type AoSigner = ReturnType<typeof createSigner>
type CreateBase = (args: { publicKey: Uint8Array | ArrayBuffer; alg?: string }) => Promise<Uint8Array>
type RawSigner = (create: CreateBase, kind: 'httpsig') => Promise<{ signature: Uint8Array | ArrayBuffer; address: string }>

export interface AoconnectRequest {
  readonly method: string
  /** Absolute URL. */
  readonly url: string
  /** Message keys, as header fields. */
  readonly fields: Record<string, string>
  readonly body?: Uint8Array
}

/** Signs `req` with aoconnect's signer over `@path`, its fields and its body digest. */
export async function aoconnectSignedRequest(signer: AoSigner, req: AoconnectRequest): Promise<RequestInit & { headers: Record<string, string> }> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.fields)) headers[name.toLowerCase()] = value
  if (req.body !== undefined && req.body.length > 0) headers['content-digest'] = contentDigestField(req.body)
  const components = ['@path', ...Object.keys(headers)].sort().map(componentId)
  let paramsValue = ''
  const create: CreateBase = async ({ publicKey, alg = 'rsa-pss-sha512' }) => {
    const keyid = Buffer.from(publicKey instanceof Uint8Array ? publicKey : new Uint8Array(publicKey)).toString('base64url')
    paramsValue = serializeSignatureParams(components, new Map([['alg', alg], ['keyid', keyid]]))
    const base = buildSignatureBase({ method: req.method, target: req.url, fields: Object.entries(headers) }, components, paramsValue)
    return new TextEncoder().encode(base)
  }
  const { signature, address } = await (signer as unknown as RawSigner)(create, 'httpsig')
  const label = aoconnectLabel(address)
  const bytes = Buffer.from(signature instanceof Uint8Array ? signature : new Uint8Array(signature))
  headers['signature-input'] = `${label}=${paramsValue}`
  headers.signature = `${label}=:${bytes.toString('base64')}:`
  return { method: req.method, headers, ...(req.body === undefined ? {} : { body: req.body as BodyInit }) }
}
