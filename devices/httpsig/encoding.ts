/**
 * @module
 * Byte/text conversions at the edge of HTTP. AO clients disagree on base64 alphabets: aoconnect
 * writes keyids and content digests in base64url without padding, HyperBEAM (mid-2025) in
 * standard base64, RFC 9421 in padded standard base64. We decode either alphabet, with or
 * without padding, and reject anything else (so a typo never turns into a different key).
 */
import { parseDictionary } from 'structured-headers'

const BASE64_ANY = /^[A-Za-z0-9+/_-]*={0,2}$/

/** Decodes standard or url-safe base64, padded or not; undefined when `text` is not base64. */
export function decodeBase64Any(text: string): Uint8Array | undefined {
  if (!BASE64_ANY.test(text)) return undefined
  const bare = text.replace(/=+$/, '')
  if (bare.length % 4 === 1) return undefined
  if (/[+/]/.test(bare) && /[-_]/.test(bare)) return undefined // mixed alphabets: not one encoding
  return new Uint8Array(Buffer.from(bare.replace(/-/g, '+').replace(/_/g, '/'), 'base64'))
}

/** Standard base64 with padding (the RFC 9421 / RFC 8941 byte-sequence alphabet). */
export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')

/** base64url without padding (AO IDs, keyids as aoconnect writes them). */
export const toBase64Url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** Constant-time equality of two byte strings (HMAC comparisons). */
export { equalBytes } from '../../identity/algorithms.js'

/**
 * Parses a dictionary whose members are byte sequences (`Signature`, `Content-Digest`). A strict
 * RFC 8941 parse comes first; when it fails, the forgiving form `name=:base64 or base64url:`
 * (aoconnect's unpadded base64url digests) is accepted member by member. Parameters on members
 * are ignored: neither field defines any. Returns undefined when neither reading works.
 */
export function parseBinaryDictionary(text: string): Map<string, Uint8Array> | undefined {
  try {
    const out = new Map<string, Uint8Array>()
    for (const [name, member] of parseDictionary(text)) {
      const value = member[0]
      if (!(value instanceof ArrayBuffer)) return undefined
      out.set(name, new Uint8Array(value))
    }
    return out
  } catch {
    return parseBinaryDictionaryLeniently(text)
  }
}

function parseBinaryDictionaryLeniently(text: string): Map<string, Uint8Array> | undefined {
  const out = new Map<string, Uint8Array>()
  for (const part of text.split(',')) {
    const match = /^[ \t]*([a-z*][a-z0-9_.*-]*)=:([A-Za-z0-9+/_=-]*):(?:;[^,]*)?[ \t]*$/.exec(part)
    if (match === null) return undefined
    const bytes = decodeBase64Any(match[2]!)
    if (bytes === undefined || out.has(match[1]!)) return undefined
    out.set(match[1]!, bytes)
  }
  return out
}
