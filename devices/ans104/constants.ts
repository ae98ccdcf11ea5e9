/**
 * @module
 * ANS-104 data item constants: the signature types we read (lengths from the spec and
 * arbundles' SIG_CONFIG), the tag limit arbundles enforces on verify, and error codes.
 */

export interface SignatureTypeSpec {
  /** Byte length of the signature. */
  readonly signatureLength: number
  /** Byte length of the owner (public key). */
  readonly ownerLength: number
  /** The commitment `type` written into a message (HyperBEAM's names where it has one). */
  readonly commitmentType: string
}

/** 1 = Arweave RSA-PSS-SHA256 (4096-bit), 2 = Ed25519, 3 = Ethereum (EIP-191 secp256k1). */
export const SIGNATURE_TYPES: Readonly<Record<number, SignatureTypeSpec>> = {
  1: { signatureLength: 512, ownerLength: 512, commitmentType: 'rsa-pss-sha256' },
  2: { signatureLength: 64, ownerLength: 32, commitmentType: 'ed25519-sha512' },
  3: { signatureLength: 65, ownerLength: 65, commitmentType: 'ethereum' },
}

export type SignatureType = 1 | 2 | 3

/** Largest serialised tag block `DataItem.verify` accepts. */
export const MAX_TAG_BYTES = 4096

/** Target and anchor are exactly 32 bytes when present. */
export const FIELD_LENGTH = 32

/** The commitment device name written into `commitments`. */
export const ANS104_DEVICE = 'ans104@1.0'

/** Tag naming the message key the data goes to (HyperBEAM); default `body`. */
export const DATA_KEY_TAG = 'ao-data-key'
export const DEFAULT_DATA_KEY = 'body'

/** The MIME type AO clients post data items with. */
export const ANS104_CONTENT_TYPE = 'application/ans104'

/** Stable error codes (InvalidRequestError 400, InvalidSignatureError 400 for signatures). */
export const CODE = {
  malformed: 'ans104-malformed',
  badTags: 'ans104-invalid-tags',
  unsupportedType: 'ans104-unsupported-signature-type',
  badSignature: 'invalid-signature',
  badMessage: 'ans104-invalid-message',
} as const
