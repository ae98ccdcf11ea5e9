/**
 * HTTP/1.1 by hand, over a TCP socket: hostile requests are often not requests a real client
 * would send (a bad request line, a NUL in a header, two lengths, headers that never end), so
 * the attacker script writes bytes and reads back exactly what the node answers.
 */
import { connect } from 'node:net'

/** What to send: a request built from parts, or bytes as they are. */
export interface RawSpec {
  readonly method?: string
  /** The request target as written on the request line (no escaping is added). */
  readonly target?: string
  readonly headers?: ReadonlyArray<readonly [string, string]>
  readonly body?: Uint8Array | string
  /** Send exactly these bytes instead. */
  readonly raw?: Uint8Array | string
  /** Leave the request unfinished: send this many bytes of the whole, then wait. */
  readonly stopAfter?: number
}

export interface RawResponse {
  /** The status line's code, when a response head arrived. */
  readonly status?: number
  readonly headers: ReadonlyMap<string, string>
  readonly body: Buffer
  /** The node closed the connection (after answering, or without a word). */
  readonly closed: boolean
  /** Nothing more happened within the time allowed. */
  readonly timedOut: boolean
  readonly ms: number
}

/** The bytes of `spec` (with `host`, `connection: close` and `content-length` unless given). */
export function requestBytes(spec: RawSpec): Buffer {
  if (spec.raw !== undefined) return Buffer.from(spec.raw)
  const body = spec.body === undefined ? Buffer.alloc(0) : Buffer.from(spec.body)
  const headers = [...(spec.headers ?? [])]
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name)
  if (!has('host')) headers.unshift(['host', '127.0.0.1'])
  if (!has('connection')) headers.push(['connection', 'close'])
  if (!has('content-length') && !has('transfer-encoding') && (body.length > 0 || spec.method === 'POST' || spec.method === 'PUT')) {
    headers.push(['content-length', String(body.length)])
  }
  const head = `${spec.method ?? 'GET'} ${spec.target ?? '/'} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`
  return Buffer.concat([Buffer.from(head, 'latin1'), body])
}

/** Sends `spec` and collects the answer until the node closes or `timeoutMs` passes. */
export function sendRaw(port: number, spec: RawSpec, timeoutMs = 15_000): Promise<RawResponse> {
  const bytes = requestBytes(spec)
  const began = performance.now()
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const parts: Buffer[] = []
    let settled = false
    const finish = (closed: boolean, timedOut: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ ...parse(Buffer.concat(parts)), closed, timedOut, ms: performance.now() - began })
    }
    const timer = setTimeout(() => finish(false, true), timeoutMs)
    socket.on('data', (chunk: Buffer) => parts.push(chunk))
    socket.on('error', () => undefined) // a reset still ends in 'close'
    socket.on('close', () => finish(true, false))
    socket.on('connect', () => socket.write(spec.stopAfter === undefined ? bytes : bytes.subarray(0, spec.stopAfter)))
  })
}

function parse(data: Buffer): Pick<RawResponse, 'status' | 'headers' | 'body'> {
  const end = data.indexOf('\r\n\r\n')
  if (end === -1) return { headers: new Map(), body: Buffer.alloc(0) }
  const lines = data.subarray(0, end).toString('latin1').split('\r\n')
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  let body = data.subarray(end + 4)
  if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') body = dechunk(body)
  return { ...(status === undefined ? {} : { status: Number(status) }), headers, body }
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = []
  let at = 0
  while (at < data.length) {
    const lineEnd = data.indexOf('\r\n', at)
    if (lineEnd === -1) break
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16)
    if (!Number.isFinite(size) || size === 0) break
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
  return Buffer.concat(out)
}

/** The stable error code of a JSON error body (`code`, or OpenAI's `error.code`). */
export function errorCode(res: RawResponse): string | undefined {
  try {
    const body = JSON.parse(res.body.toString('utf8')) as { code?: string; error?: { code?: string } }
    return body.code ?? body.error?.code
  } catch {
    return undefined
  }
}
