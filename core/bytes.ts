/**
 * @module
 * Byte helpers for core/, which runs without Node: plain `Uint8Array`s in and out. Where the
 * runtime has Node's `Buffer` (found on `globalThis`, never imported) the hot conversions use
 * it — base64url and UTF-8 lengths are several times faster there, and IDs are encoded on every
 * step; elsewhere the portable code below gives the same answers (test/core/bytes.test.ts
 * compares both).
 */

interface NodeBufferish {
  from(data: ArrayBufferLike, offset: number, length: number): { toString(enc: string, start?: number, end?: number): string; indexOf(v: Uint8Array): number }
  from(text: string, enc: string): Uint8Array
  byteLength(text: string): number
}

/** Node's Buffer when the runtime has one; `undefined` in a browser or another runtime. */
const NodeBuffer = (globalThis as { Buffer?: NodeBufferish }).Buffer

const view = (bytes: Uint8Array) => NodeBuffer!.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** The parts, one after another, in a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const DECODE = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i

/** Portable base64url without padding. */
export function portableToBase64Url(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!
  }
  return out
}

/** Portable base64url decoding; the caller has checked the alphabet. Stray tail bits are dropped, as Node does. */
export function portableFromBase64Url(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let bits = 0
  let acc = 0
  let at = 0
  for (let i = 0; i < text.length; i++) {
    const v = DECODE[text.charCodeAt(i)] ?? -1
    if (v < 0) break
    acc = (acc << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[at++] = (acc >> bits) & 0xff
    }
  }
  return at === out.length ? out : out.slice(0, at)
}

/** base64url without padding. */
export const toBase64Url: (bytes: Uint8Array) => string = NodeBuffer === undefined
  ? portableToBase64Url
  : (bytes) => view(bytes).toString('base64url')

/** Bytes of base64url text (alphabet already checked by the caller). A plain Uint8Array of its own. */
export const base64UrlBytes: (text: string) => Uint8Array = NodeBuffer === undefined
  ? portableFromBase64Url
  : (text) => new Uint8Array(NodeBuffer.from(text, 'base64url'))

/** Standard base64 with padding (DAG-JSON bytes links). */
export const toBase64: (bytes: Uint8Array) => string = NodeBuffer === undefined
  ? (bytes) => {
      const url = portableToBase64Url(bytes).replace(/-/g, '+').replace(/_/g, '/')
      return url + '='.repeat((4 - (url.length % 4)) % 4)
    }
  : (bytes) => view(bytes).toString('base64')

/** Bytes of base64 text, standard or url alphabet, padded or not (as Buffer reads it). */
export const base64Bytes: (text: string) => Uint8Array = NodeBuffer === undefined
  ? (text) => portableFromBase64Url(text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''))
  : (text) => new Uint8Array(NodeBuffer.from(text, 'base64'))

/** Lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i++) out += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16)
  return out
}

const UTF8 = new TextEncoder()

/** The UTF-8 length of a string, without encoding it where the runtime can say. */
export const utf8ByteLength: (text: string) => number = NodeBuffer === undefined
  ? (text) => UTF8.encode(text).length
  : (text) => NodeBuffer.byteLength(text)

/** The ASCII bytes of a key name (record layouts, needles). */
export const asciiBytes = (text: string): Uint8Array => UTF8.encode(text)

/** Portable search for `needle` inside `bytes`; -1 when absent. */
export function portableIndexOf(bytes: Uint8Array, needle: Uint8Array): number {
  const first = needle[0]
  if (first === undefined) return 0
  const last = bytes.length - needle.length
  outer: for (let i = bytes.indexOf(first); i !== -1 && i <= last; i = bytes.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

/** Where `needle` first occurs inside `bytes`; -1 when absent. */
export const indexOfBytes: (bytes: Uint8Array, needle: Uint8Array) => number = NodeBuffer === undefined
  ? portableIndexOf
  : (bytes, needle) => view(bytes).indexOf(needle)

/** Bytes `start..end` read as latin1 text (one character per byte). */
export const latin1Slice: (bytes: Uint8Array, start: number, end: number) => string = NodeBuffer === undefined
  ? (bytes, start, end) => String.fromCharCode(...bytes.subarray(start, end))
  : (bytes, start, end) => view(bytes).toString('latin1', start, end)
