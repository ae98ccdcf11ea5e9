/**
 * @module
 * The node's key as devices get it (core/types.ts `Signer`): sign and verify under a domain tag,
 * never the key itself. The signed bytes are
 *
 *     "hashbeam-device-signature/1" NUL tag NUL data
 *
 * Message commitments sign a 43-character ID (or `tag:ID`), httpsig signs a signature base that
 * starts with a quoted component name, ANS-104 signs a deep hash: none of them can begin with
 * this prefix, so a device's signature never passes for one of those, nor for another tag's.
 */
import type { Signer } from '../core/types.js'
import { publicKeyBytes, sign, verifyWithPublicKey, walletAddress, type Wallet } from './keys.js'

export const DEVICE_SIGNATURE_DOMAIN = 'hashbeam-device-signature/1'

const UTF8 = new TextEncoder()

/** The exact bytes a device signature covers. */
export function deviceSigningBytes(tag: string, data: Uint8Array): Uint8Array {
  if (tag === '' || tag.includes('\0')) throw new TypeError('signer: a tag is a non-empty string without NUL')
  const head = UTF8.encode(`${DEVICE_SIGNATURE_DOMAIN}\0${tag}\0`)
  const out = new Uint8Array(head.length + data.length)
  out.set(head)
  out.set(data, head.length)
  return out
}

/** A signer over the wallet; the wallet stays in this closure. */
export function createSigner(wallet: Wallet): Signer {
  const publicKey = publicKeyBytes(wallet)
  const own = { kind: wallet.kind, publicKey }
  return {
    address: walletAddress(wallet),
    kind: wallet.kind,
    publicKey: publicKey.slice(),
    sign: async (tag, data) => sign(wallet, deviceSigningBytes(tag, data)),
    verify(tag, data, signature, by = own) {
      let bytes: Uint8Array
      try {
        bytes = deviceSigningBytes(tag, data)
      } catch {
        return false
      }
      return verifyWithPublicKey(by.kind, by.publicKey, bytes, signature)
    },
  }
}
