/**
 * @module
 * Native commitments (DESIGN §9): a key signs a message's *unsigned* ID, the sha-256 of its
 * canonical encoding without `commitments`. One signature thus covers every key at every depth,
 * and adding further commitments later never disturbs it.
 *
 *   commitments: { <base64url(sha256(signature))>: {
 *     commitment-device: "message@1.0", type: "rsa-pss-sha512" | "ed25519", tag: <purpose>,
 *     keyid: "publickey:<base64url public key>", committer: <address>,
 *     committed: [every key, sorted], signature: <base64url> } }
 *
 * Domain separation (DESIGN §11): the signed bytes are `utf8("hashbeam:<tag>\n") ‖ unsigned ID`,
 * so a signature made for one purpose can never be presented as one made for another. The node
 * signs caller-chosen content (`message@1.0/commit`) only with the tag `commit`, which authorises
 * nothing; receipts, reports and exports carry their own tags, checked by their verifiers. A
 * commitment without a tag (made before tags existed) signed the 32 raw ID bytes: it still
 * verifies, as tag `commit`, because a prefixed preimage is never 32 bytes long.
 *
 * RSA wallets sign RSA-PSS/SHA-512 (maximum salt, verified with auto-detected salt), as their
 * httpsig signatures do; Ed25519 wallets sign with Ed25519.
 */
import { sha256 } from '../../core/sha256.js'
import { fromBase64Url, toBase64Url, unsignedIdOf } from '../../core/id.js'
import { isMessage } from '../../core/message.js'
import { isPrivateKey } from '../../core/keys.js'
import type { Message } from '../../core/types.js'
import { addressOf, publicKeyBytes, sign, verifyWithPublicKey, walletAddress, type Wallet, type WalletKind } from '../../identity/keys.js'
import type { CommitmentCheck } from '../httpsig/index.js'

/** The commitment device name of native commitments. */
export const NATIVE_COMMITMENT_DEVICE = 'message@1.0'

const TYPE_OF_KIND: Readonly<Record<WalletKind, string>> = { rsa: 'rsa-pss-sha512', ed25519: 'ed25519' }

/** Public, sorted keys of a message other than `commitments`: what a native commitment covers. */
export const coveredKeys = (message: Message): string[] =>
  Object.keys(message).filter((k) => k !== 'commitments' && !isPrivateKey(k)).sort()

/**
 * What a native commitment was made for. Only the node's own code chooses a tag; a caller of
 * `message@1.0/commit` always gets `commit`.
 */
export type CommitmentTag = 'commit' | 'receipt' | 'report' | 'export' | 'operator'

/** The tag of a commitment made before tags existed (it signed the raw unsigned ID). */
export const UNTAGGED_COMMITMENT_TAG: CommitmentTag = 'commit'

const TAG_PATTERN = /^[a-z][a-z0-9-]{0,31}$/

/** The bytes a native commitment signs: the tag's domain prefix, then the 32-byte unsigned ID. */
export function nativeSigningBytes(tag: string | undefined, unsignedId: string): Uint8Array {
  const id = fromBase64Url(unsignedId)
  if (tag === undefined) return id
  const prefix = new TextEncoder().encode(`hashbeam:${tag}\n`)
  const out = new Uint8Array(prefix.length + id.length)
  out.set(prefix)
  out.set(id, prefix.length)
  return out
}

/** A native commitment of `message` by `wallet` for `tag` (default `commit`), with its ID. */
export function nativeCommitment(message: Message, wallet: Wallet, tag: CommitmentTag = 'commit'): { id: string; commitment: Message } {
  const signature = sign(wallet, nativeSigningBytes(tag, unsignedIdOf(message)))
  const commitment: Message = {
    'commitment-device': NATIVE_COMMITMENT_DEVICE,
    type: TYPE_OF_KIND[wallet.kind],
    tag,
    keyid: `publickey:${toBase64Url(publicKeyBytes(wallet))}`,
    committer: walletAddress(wallet),
    committed: coveredKeys(message),
    signature: toBase64Url(signature),
  }
  return { id: toBase64Url(sha256(signature)), commitment }
}

/** `message` with a new native commitment for `tag` added beside its existing ones. */
export function commitMessage(message: Message, wallet: Wallet, tag: CommitmentTag = 'commit'): Message {
  const { id, commitment } = nativeCommitment(message, wallet, tag)
  const existing = isMessage(message.commitments) ? message.commitments : {}
  return { ...message, commitments: { ...existing, [id]: commitment } }
}

/** The purpose a native commitment was made for (untagged ones count as `commit`). */
export function commitmentTag(commitment: Message): string {
  return typeof commitment.tag === 'string' ? commitment.tag : UNTAGGED_COMMITMENT_TAG
}

/**
 * Checks one native commitment of `message`; with `expectTag`, it must also have been made for
 * that purpose (a receipt verifier passes `receipt`). Never throws.
 */
export function verifyNativeCommitment(message: Message, id: string, commitment: Message, expectTag?: CommitmentTag): CommitmentCheck {
  try {
    const tag = commitment.tag
    if (tag !== undefined && (typeof tag !== 'string' || !TAG_PATTERN.test(tag))) return { valid: false, reason: 'the commitment tag is malformed' }
    if (expectTag !== undefined && commitmentTag(commitment) !== expectTag) {
      return { valid: false, reason: `the commitment was made for "${commitmentTag(commitment)}", not "${expectTag}"` }
    }
    const kind = (Object.keys(TYPE_OF_KIND) as WalletKind[]).find((k) => TYPE_OF_KIND[k] === commitment.type)
    if (kind === undefined) return { valid: false, reason: `unknown native commitment type "${String(commitment.type)}"` }
    const keyid = typeof commitment.keyid === 'string' ? commitment.keyid.replace(/^publickey:/, '') : ''
    const publicKey = fromBase64Url(keyid)
    const signature = fromBase64Url(typeof commitment.signature === 'string' ? commitment.signature : '')
    if (addressOf(publicKey) !== commitment.committer) return { valid: false, reason: 'the committer is not the address of the keyid' }
    if (toBase64Url(sha256(signature)) !== id) return { valid: false, reason: 'the commitment ID is not the hash of its signature' }
    if (!verifyWithPublicKey(kind, publicKey, nativeSigningBytes(tag, unsignedIdOf(message)), signature)) {
      return { valid: false, reason: 'the signature does not match the unsigned ID of the message' }
    }
    // The unsigned ID covers every public key of the message: so does the commitment.
    return { valid: true, covered: coveredKeys(message) }
  } catch (err) {
    return { valid: false, reason: err instanceof Error ? err.message : 'unverifiable commitment' }
  }
}
