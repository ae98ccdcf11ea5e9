/**
 * @module
 * Native commitments (DESIGN §9): the node signs the 32 raw bytes of a message's *unsigned* ID,
 * the sha-256 of its canonical encoding without `commitments`. One signature thus covers every
 * key at every depth, and adding further commitments later never disturbs it.
 *
 *   commitments: { <base64url(sha256(signature))>: {
 *     commitment-device: "message@1.0", type: "rsa-pss-sha512" | "ed25519",
 *     keyid: "publickey:<base64url public key>", committer: <address>,
 *     committed: [every key, sorted], signature: <base64url> } }
 *
 * RSA wallets sign RSA-PSS/SHA-512 (maximum salt, verified with auto-detected salt), as their
 * httpsig signatures do; Ed25519 wallets sign with Ed25519.
 */
import { sha256 } from '../../core/sha256.js'
import { fromBase64Url, toBase64Url, unsignedIdOf } from '../../core/id.js'
import { isMessage } from '../../core/message.js'
import type { Message } from '../../core/types.js'
import { addressOf, publicKeyBytes, sign, verifyWithPublicKey, walletAddress, type Wallet, type WalletKind } from '../../node/wallet.js'
import type { CommitmentCheck } from '../httpsig/verify-commitment.js'

/** The commitment device name of native commitments. */
export const NATIVE_COMMITMENT_DEVICE = 'message@1.0'

const TYPE_OF_KIND: Readonly<Record<WalletKind, string>> = { rsa: 'rsa-pss-sha512', ed25519: 'ed25519' }

/** Public, sorted keys of a message other than `commitments`: what a native commitment covers. */
export const coveredKeys = (message: Message): string[] =>
  Object.keys(message).filter((k) => k !== 'commitments' && !k.startsWith('priv')).sort()

/** A native commitment of `message` by `wallet`, with its ID. */
export function nativeCommitment(message: Message, wallet: Wallet): { id: string; commitment: Message } {
  const signature = sign(wallet, fromBase64Url(unsignedIdOf(message)))
  const commitment: Message = {
    'commitment-device': NATIVE_COMMITMENT_DEVICE,
    type: TYPE_OF_KIND[wallet.kind],
    keyid: `publickey:${toBase64Url(publicKeyBytes(wallet))}`,
    committer: walletAddress(wallet),
    committed: coveredKeys(message),
    signature: toBase64Url(signature),
  }
  return { id: toBase64Url(sha256(signature)), commitment }
}

/** `message` with a new native commitment added beside its existing ones. */
export function commitMessage(message: Message, wallet: Wallet): Message {
  const { id, commitment } = nativeCommitment(message, wallet)
  const existing = isMessage(message.commitments) ? message.commitments : {}
  return { ...message, commitments: { ...existing, [id]: commitment } }
}

/** Checks one native commitment of `message`. Never throws. */
export function verifyNativeCommitment(message: Message, id: string, commitment: Message): CommitmentCheck {
  try {
    const kind = (Object.keys(TYPE_OF_KIND) as WalletKind[]).find((k) => TYPE_OF_KIND[k] === commitment.type)
    if (kind === undefined) return { valid: false, reason: `unknown native commitment type "${String(commitment.type)}"` }
    const keyid = typeof commitment.keyid === 'string' ? commitment.keyid.replace(/^publickey:/, '') : ''
    const publicKey = fromBase64Url(keyid)
    const signature = fromBase64Url(typeof commitment.signature === 'string' ? commitment.signature : '')
    if (addressOf(publicKey) !== commitment.committer) return { valid: false, reason: 'the committer is not the address of the keyid' }
    if (toBase64Url(sha256(signature)) !== id) return { valid: false, reason: 'the commitment ID is not the hash of its signature' }
    if (!verifyWithPublicKey(kind, publicKey, fromBase64Url(unsignedIdOf(message)), signature)) {
      return { valid: false, reason: 'the signature does not match the unsigned ID of the message' }
    }
    return { valid: true }
  } catch (err) {
    return { valid: false, reason: err instanceof Error ? err.message : 'unverifiable commitment' }
  }
}
