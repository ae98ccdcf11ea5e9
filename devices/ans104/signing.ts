/**
 * @module
 * Checking and making data item signatures.
 *
 * - Type 1 (Arweave): RSA-PSS/SHA-256 by the 4096-bit modulus in `owner`, e = 65537; the salt
 *   length is auto-detected (arbundles and AO's client sign with the maximum salt, Arweave's JS
 *   with 32).
 * - Type 2: Ed25519 by the 32-byte `owner`.
 * - Type 3 (Ethereum): EIP-191 `personal_sign` of the 48-byte deep hash, checked against the
 *   65-byte uncompressed secp256k1 `owner` (as arbundles' EthereumSigner makes them).
 *
 * `buildDataItem` signs with a node wallet (RSA → type 1, Ed25519 → type 2).
 */
import { publicKeyBytes, sign, verifyWithPublicKey, type Wallet } from '../../identity/keys.js'
import { verifyBytes } from '../../identity/algorithms.js'
import type { Tag } from './avro-tags.js'
import { parseDataItem, serializeDataItem, signatureData, type DataItem } from './data-item.js'

/** True when the item's signature is valid for its owner. Never throws. */
export function verifyDataItem(item: DataItem): boolean {
  const digest = signatureData(item)
  switch (item.signatureType) {
    case 1: return verifyWithPublicKey('rsa', item.owner, digest, item.signature, { hash: 'sha256' })
    case 2: return verifyWithPublicKey('ed25519', item.owner, digest, item.signature)
    case 3: return verifyBytes({ alg: 'ethereum', publicKey: item.owner }, digest, item.signature)
  }
}

/** What a new item carries; `target`/`anchor` are 32 raw bytes. */
export interface DataItemFields {
  readonly tags?: readonly Tag[]
  readonly data?: Uint8Array | string
  readonly target?: Uint8Array
  readonly anchor?: Uint8Array
}

/** Builds and signs a data item with a wallet; returns its bytes and parsed form. */
export function buildDataItem(wallet: Wallet, fields: DataItemFields): { bytes: Uint8Array, item: DataItem } {
  const data = typeof fields.data === 'string' ? new TextEncoder().encode(fields.data) : fields.data ?? new Uint8Array()
  const unsigned = {
    signatureType: wallet.kind === 'rsa' ? 1 as const : 2 as const,
    owner: publicKeyBytes(wallet),
    tags: fields.tags ?? [],
    data,
    ...(fields.target !== undefined && { target: fields.target }),
    ...(fields.anchor !== undefined && { anchor: fields.anchor }),
  }
  const signature = sign(wallet, signatureData(unsigned), { hash: 'sha256' })
  const bytes = serializeDataItem(unsigned, signature)
  return { bytes, item: parseDataItem(bytes) }
}
