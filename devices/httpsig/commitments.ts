/**
 * @module
 * Verified signatures become a message's `commitments`, in HyperBEAM's shape
 * (`dev_codec_httpsig:commit/3`):
 *
 *   commitments: { <commitment ID>: { commitment-device: "httpsig@1.0", type: <alg>, keyid,
 *                  committer (public-key signatures only), committed: [keys], signature, … } }
 *
 * - The ID of a public-key commitment is base64url(sha256(raw signature)). The ID of an HMAC
 *   commitment is the HMAC itself in base64url, as HyperBEAM computes it: the HMAC is already a
 *   32-byte digest of the signature base, and keeping HyperBEAM's rule keeps our IDs equal to
 *   its own for the same message.
 * - `signature` is base64url of the raw bytes (HyperBEAM's `hb_util:encode`); `keyid` is kept as
 *   signed, since it is part of the signature base.
 * - The other signature parameters (`created`, `expires`, `nonce`, `tag`) are kept, so the
 *   commitment says everything that was signed. `committed` lists message keys, not headers.
 * - `signature-base` (a Hashbeam addition) is the exact text that was signed (RFC 9421 §2.5).
 *   Clients encode typed values in different dialects (interop.md §1.4), so the header text
 *   cannot be regenerated from the decoded message; keeping it lets `message@1.0/verify` check a
 *   stored commitment later: the signature over the base, and every header line of the base
 *   against the value the message holds (verify-commitment.ts).
 */
import { sha256 } from '../../core/sha256.js'
import type { Message } from '../../core/types.js'
import { HTTPSIG_DEVICE } from './constants.js'
import { toBase64Url } from './encoding.js'
import type { VerifiedSignature, VerifyResult } from './verify.js'

/** The commitment ID of one verified signature. */
export function commitmentId(signature: Pick<VerifiedSignature, 'alg' | 'signature'>): string {
  return toBase64Url(signature.alg === 'hmac-sha256' ? signature.signature : sha256(signature.signature))
}

/**
 * What a signed body became: the digest commits `bodyKey` (verify.ts), and a multipart body
 * stands for the keys its parts set instead (HyperBEAM lists them in `committed` too).
 */
export interface SignedBody {
  readonly bodyKey: string
  readonly bodyKeys: readonly string[]
}

/** One commitment message. */
export function commitmentOf(signature: VerifiedSignature, body?: SignedBody): Message {
  const committed = body === undefined || !signature.committed.includes(body.bodyKey)
    ? [...signature.committed]
    : [...new Set(signature.committed.flatMap((key) => (key === body.bodyKey ? body.bodyKeys : [key])))]
  const commitment: Message = {
    'commitment-device': HTTPSIG_DEVICE,
    type: signature.alg,
    committed,
    signature: toBase64Url(signature.signature),
    'signature-base': signature.signatureBase,
  }
  if (signature.keyid !== undefined) commitment.keyid = signature.keyid
  if (signature.committer !== undefined) commitment.committer = signature.committer
  for (const [name, value] of Object.entries(signature.params)) {
    if (!(name in commitment)) commitment[name.toLowerCase()] = value
  }
  return commitment
}

/** The `commitments` map of a verified request (empty for an unsigned one). */
export function commitmentsFromSignatures(result: Pick<VerifyResult, 'signatures'>, body?: SignedBody): Message {
  const commitments: Message = {}
  for (const signature of result.signatures) commitments[commitmentId(signature)] = commitmentOf(signature, body)
  return commitments
}
