/**
 * @module
 * The `multipart/form-data` body of an httpsig message, written deterministically and read
 * back. Each part is a header block (`content-disposition: form-data;name="…"` then the part's
 * fields) and an optional body. The boundary is base64url(sha256(the parts)), as HyperBEAM makes
 * it: the same message always gives the same bytes, and a boundary can never occur inside the
 * content it was computed from.
 *
 * Reading also takes HyperBEAM's and hbsig's parts: a part without a blank line is fields only
 * (`dev_codec_httpsig_conv:from_body_part` splits at the first blank line, if any), and
 * `content-disposition: inline` marks the part holding the body key.
 */
import { sha256 } from '../../core/sha256.js'
import { InvalidRequestError } from '../../core/errors.js'
import { toBase64Url, utf8 } from './encoding.js'
import { concatBytes as concat } from '../../core/bytes.js'

/** One part: its name (a `/`-joined key path), its fields, and its body. */
export interface Part {
  /** The key path; '' for an `inline` part (the body key of the message). */
  readonly name: string
  /** `content-disposition: inline` (read only; we always name our parts). */
  readonly inline?: boolean
  readonly fields: ReadonlyArray<readonly [string, string]>
  readonly body: Uint8Array
}

const CRLF = '\r\n'
const decoder = new TextDecoder('utf-8', { fatal: true })


function encodePart(part: Part): Uint8Array {
  const head = [`content-disposition: form-data;name="${part.name}"`, ...part.fields.map(([n, v]) => `${n}: ${v}`)]
  return concat([utf8(head.join(CRLF) + CRLF + CRLF), part.body])
}

/** Serialises parts; returns the body and its boundary. */
export function encodeMultipart(parts: readonly Part[]): { body: Uint8Array; boundary: string } {
  const encoded = parts.map(encodePart)
  const boundary = toBase64Url(sha256(concat(encoded)))
  const chunks: Uint8Array[] = []
  for (const part of encoded) chunks.push(utf8(`--${boundary}${CRLF}`), part, utf8(CRLF))
  chunks.push(utf8(`--${boundary}--${CRLF}`))
  return { body: concat(chunks), boundary }
}

/** The boundary parameter of a `multipart/form-data` content type, or undefined. */
export function boundaryOf(contentType: string): string | undefined {
  if (!/^multipart\/form-data\s*;/i.test(contentType)) return undefined
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return match?.[1] ?? match?.[2]
}

/** Reads the parts of a body. Throws InvalidRequestError `invalid-multipart` on bad input. */
export function decodeMultipart(body: Uint8Array, boundary: string): Part[] {
  const text = Buffer.from(body).toString('latin1') // byte-preserving: offsets are byte offsets
  const open = `--${boundary}`
  if (!text.startsWith(`${open}${CRLF}`)) throw bad('the body does not start with its boundary')
  const parts: Part[] = []
  let at = open.length + CRLF.length
  for (;;) {
    const end = text.indexOf(`${CRLF}${open}`, at)
    if (end === -1) throw bad('a part is not terminated by the boundary')
    parts.push(decodePart(body.subarray(at, end)))
    at = end + CRLF.length + open.length
    if (text.startsWith('--', at)) break
    if (!text.startsWith(CRLF, at)) throw bad('a boundary is followed by neither CRLF nor "--"')
    at += CRLF.length
  }
  return parts
}

function decodePart(bytes: Uint8Array): Part {
  const text = Buffer.from(bytes).toString('latin1')
  const blank = text.indexOf(CRLF + CRLF)
  const split = blank === -1 ? bytes.length : blank
  let head: string
  try {
    head = decoder.decode(bytes.subarray(0, split))
  } catch {
    throw bad('part fields are not UTF-8')
  }
  const fields: Array<[string, string]> = []
  let name: string | undefined
  let inline = false
  for (const line of head.split(CRLF)) {
    if (line === '') continue
    const colon = line.indexOf(':')
    if (colon <= 0) throw bad(`part field "${line.slice(0, 40)}" has no name`)
    const field = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (field === 'content-disposition') {
      const match = /^form-data\s*;\s*name="([^"]*)"$/.exec(value)
      inline = value === 'inline'
      if (match === null && !inline) throw bad(`unsupported content-disposition "${value.slice(0, 60)}"`)
      name = match?.[1] ?? ''
    } else fields.push([field, value])
  }
  if (name === undefined) throw bad('a part has no content-disposition')
  return { name, fields, body: blank === -1 ? new Uint8Array() : bytes.subarray(blank + 4), ...(inline && { inline }) }
}

const bad = (message: string) => new InvalidRequestError(`multipart: ${message}`, { code: 'invalid-multipart' })
