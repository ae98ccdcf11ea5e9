/**
 * @module
 * How the filesystem store turns a key into a file name and back.
 *
 * Each UTF-8 byte of the key maps on its own: `[A-Za-z0-9_-]` stays, every other byte becomes
 * `%XX` (upper-case hex). Because the mapping is byte by byte and no code word is a prefix of
 * another, "key starts with prefix" is the same as "name starts with encoded prefix", which
 * lets `list` prune directories without decoding. `.` and `/` are always escaped, so a name is
 * never `.`, `..`, hidden, or more than one path component; NUL becomes `%00`.
 *
 * A name longer than FS_NAME_SEGMENT is cut into pieces: all but the last become directories
 * with a `+` suffix. The encoding never emits `+`, so a file never collides with such a
 * directory, and the pieces joined back give the name.
 */
import { FS_NAME_SEGMENT } from '../constants.js'

/** Suffix of the directories that hold the continuation of a long name. */
export const SEGMENT_DIR_SUFFIX = '+'

const UTF8 = new TextEncoder()
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true })
const HEX = '0123456789ABCDEF'

function isPlain(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x2d || byte === 0x5f
}

/** The file name of a key (possibly longer than one path component; see keyNamePath). */
export function encodeKeyName(key: string): string {
  let name = ''
  for (const byte of UTF8.encode(key)) {
    name += isPlain(byte) ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`
  }
  return name
}

/** The encoded form of a list prefix (same mapping; the empty prefix stays empty). */
export const encodePrefixName = encodeKeyName

/** The key of a file name, or undefined for a name this store did not write. */
export function decodeKeyName(name: string): string | undefined {
  const bytes = new Uint8Array(name.length)
  let n = 0
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i)
    if (code === 0x25) {
      const hex = name.slice(i + 1, i + 3)
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined
      bytes[n++] = parseInt(hex, 16)
      i += 2
    } else if (code < 0x80 && isPlain(code)) {
      bytes[n++] = code
    } else {
      return undefined
    }
  }
  if (n === 0) return undefined
  let key: string
  try { key = UTF8_STRICT.decode(bytes.subarray(0, n)) } catch { return undefined }
  // Only canonical names count: `%41` is not how `A` is written, so it is not a key of ours.
  return encodeKeyName(key) === name ? key : undefined
}

/** The path components (relative to `keys/`) under which a name is stored. */
export function keyNamePath(name: string): string[] {
  if (name.length <= FS_NAME_SEGMENT) return [name]
  const parts: string[] = []
  let offset = 0
  for (; name.length - offset > FS_NAME_SEGMENT; offset += FS_NAME_SEGMENT) {
    parts.push(name.slice(offset, offset + FS_NAME_SEGMENT) + SEGMENT_DIR_SUFFIX)
  }
  parts.push(name.slice(offset))
  return parts
}
