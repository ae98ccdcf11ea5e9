/**
 * @module
 * ANS-104 tags are an Avro `array<record{name: bytes, value: bytes}>`: blocks of zig-zag varint
 * counts, each followed by that many length-prefixed name/value strings, ended by a zero
 * count. A negative count means "this many, then the block's byte size" (Avro allows it; some
 * writers use it), so the reader accepts both. The writer emits one block, like arbundles.
 *
 * Names and values must be UTF-8: we reject invalid bytes rather than replace them, so the
 * message we build can never disagree with the bytes that were signed.
 */
import { InvalidRequestError } from '../../core/errors.js'
import { CODE } from './constants.js'

export interface Tag {
  readonly name: string
  readonly value: string
}

const decoder = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

/** Decodes a tag block; throws InvalidRequestError `ans104-invalid-tags` on malformed input. */
export function decodeTags(bytes: Uint8Array): Tag[] {
  if (bytes.length === 0) return []
  let pos = 0
  const readLong = (): number => {
    let result = 0
    let scale = 1
    for (;;) {
      if (pos >= bytes.length) throw bad('truncated varint')
      const byte = bytes[pos++]!
      result += (byte & 0x7f) * scale
      scale *= 128
      if ((byte & 0x80) === 0) break
      if (scale > 2 ** 56) throw bad('varint too long')
    }
    // zig-zag: even → n/2, odd → -(n+1)/2
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2
  }
  const readString = (what: string): string => {
    const length = readLong()
    if (length < 0 || pos + length > bytes.length) throw bad(`${what} length ${length} runs past the tag block`)
    const slice = bytes.subarray(pos, pos + length)
    pos += length
    try {
      return decoder.decode(slice)
    } catch {
      throw bad(`${what} is not UTF-8`)
    }
  }
  const tags: Tag[] = []
  for (let count = readLong(); count !== 0; count = readLong()) {
    if (count < 0) {
      count = -count
      readLong() // block size in bytes: redundant for us
    }
    for (let i = 0; i < count; i++) tags.push({ name: readString('tag name'), value: readString('tag value') })
  }
  if (pos !== bytes.length) throw bad(`${bytes.length - pos} stray bytes after the tags`)
  return tags
}

/** Encodes tags as one Avro block (empty input → empty bytes, as ANS-104 writers do). */
export function encodeTags(tags: readonly Tag[]): Uint8Array {
  if (tags.length === 0) return new Uint8Array()
  const out: number[] = []
  const writeLong = (n: number) => {
    let zigzag = n >= 0 ? n * 2 : -n * 2 - 1
    do {
      let byte = zigzag % 128
      zigzag = Math.floor(zigzag / 128)
      if (zigzag > 0) byte |= 0x80
      out.push(byte)
    } while (zigzag > 0)
  }
  const writeString = (text: string) => {
    const bytes = encoder.encode(text)
    writeLong(bytes.length)
    for (const b of bytes) out.push(b)
  }
  writeLong(tags.length)
  for (const tag of tags) {
    writeString(tag.name)
    writeString(tag.value)
  }
  writeLong(0)
  return Uint8Array.from(out)
}

const bad = (message: string) => new InvalidRequestError(`ans104: ${message}`, { code: CODE.badTags })
