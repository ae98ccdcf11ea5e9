/**
 * @module
 * Folder: one device (its index.ts is its only door). May import: core/, identity/, this folder,
 * another device only through its index.ts, the libraries it needs; never node/ (eslint/boundaries.js).
 *
 * ans104@1.0: Arweave ANS-104 data items, the format AO clients use for `spawn`, `message`,
 * `result` and any `request` with `signing-format: ans104` (a POST with content-type
 * `application/ans104`, routing hints as tags).
 *
 * `parseDataItem(bytes)` → `verifyDataItem(item)` → `dataItemToMessage(item)` is the inbound
 * path (the last step verifies again and throws 400 on a bad signature); `buildDataItem` signs
 * an item with a node wallet. `deepHash` is Arweave's SHA-384 deep hash.
 */
export { parseDataItem, serializeDataItem, signatureData, type DataItem, type UnsignedDataItem } from './data-item.js'
export { verifyDataItem, buildDataItem, type DataItemFields } from './signing.js'
export { dataItemToMessage } from './message.js'
export { verifyAns104Commitment } from './verify-commitment.js'
export { deepHash, type DeepHashChunk } from './deep-hash.js'
export { decodeTags, encodeTags, type Tag } from './avro-tags.js'
export {
  ANS104_DEVICE, ANS104_CONTENT_TYPE, CODE as ANS104_CODE, SIGNATURE_TYPES, MAX_TAG_BYTES, type SignatureType,
} from './constants.js'
