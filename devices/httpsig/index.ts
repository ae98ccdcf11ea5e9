/**
 * @module
 * Folder: one device (its index.ts is its only door). May import: core/, identity/, this folder,
 * another device only through its index.ts, the libraries it needs; never node/ (eslint/boundaries.js).
 *
 * httpsig@1.0: RFC 9421 HTTP Message Signatures as AO nodes and clients use them.
 *
 * The pure/crypto layer the HTTP app wires in:
 * - `verifyRequestSignatures(req, opts)` checks every signature and the Content-Digest of an
 *   incoming request, and says which message keys are committed (400 on anything bad);
 * - `commitmentsFromSignatures(result)` turns that into the message's `commitments`;
 * - `unboundPartOf(signature, request)` says whether a signature binds its request's target
 *   and body, as a privileged action needs;
 * - `signedRequestKeys(covered, fields, body)` gives the keys a signed request commits (its
 *   covered headers, typed by `ao-types`, and a signed body, multipart included);
 * - `decodeTypedFields(headers)` turns the committed headers into typed message values
 *   (`ao-types`);
 * - `signRequest(wallet, req)` signs a request or reply the way aoconnect does; `createSignature`
 *   signs any view, in the RFC 9421 base shape or HyperBEAM's (signature-base.ts);
 * - `encodeHttpsigMessage` / `decodeHttpsigMessage`: a message ⇄ header fields plus a
 *   deterministic multipart body (the node's default reply codec), and
 *   `verifyHttpsigCommitment` re-checks a stored commitment against its message.
 * Lower-level pieces (signature bases, algorithms, key resolution) are exported for tests and
 * for other codecs.
 */
export { SIGNATURE_ALGORITHMS, HTTPSIG_DEVICE, CODE, TYPES_CODE, SIGNATURE_TAG, HEADER, type SignatureAlgorithm } from './constants.js'
export {
  verifyRequestSignatures, verifyMessageSignatures,
  type HttpRequestLike, type VerifiedSignature, type VerifyResult, type VerifyOptions,
} from './verify.js'
export { signRequest, createSignature, aoconnectLabel, type SignRequestOptions, type SignedRequest, type CreatedSignature } from './sign.js'
export { commitmentsFromSignatures, commitmentOf, commitmentId, type SignedBody } from './commitments.js'
export { signedRequestKeys, type SignedKeys } from './signed-request.js'
export { parseAoTypes, decodeTypedValue, decodeTypedFields } from './ao-types.js'
export { checkContentDigest, contentDigestField, digestBody, type DigestAlgorithm } from './content-digest.js'
export { componentValue, componentId, serializeComponentId, type HttpMessageView, type ComponentId } from './components.js'
export {
  buildSignatureBase, signatureBase, serializeSignatureParams, hasHyperbeamForm, hyperbeamComponent,
  type SignatureShape, type SignatureBase, type TargetPart,
} from './signature-base.js'
export { parseSignatureFields, serializeSignatureFields, type SignatureEntry } from './signature-fields.js'
export { signBytes, verifyBytes, eip191Hash, type SigningKey, type VerificationKey } from '../../identity/algorithms.js'
export { resolveAoKey, type KeyResolver, type ResolvedKey } from './keys.js'
export { decodeBase64Any } from './encoding.js'
export {
  encodeMessage as encodeHttpsigMessage, decodeMessage as decodeHttpsigMessage, addBodyParts, isReservedReplyField,
} from './message-codec.js'
export { encodeMultipart, decodeMultipart, boundaryOf, type Part } from './multipart.js'
export { verifyHttpsigCommitment, sameValue, type CommitmentCheck } from './verify-commitment.js'
export { unboundPartOf, type RequestShape } from './request-target.js'
