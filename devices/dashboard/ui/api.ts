/**
 * The dashboard's only way to the node: its public HTTP API, same origin, GET only, never
 * signed. Everything shown comes from these calls.
 */

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

/** Percent-encodes a value for a HyperPATH segment (parentheses and `!*'` too: they have meaning there). */
export const pathValue = (v: string): string => encodeURIComponent(v).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } })
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = text
  }
  if (!res.ok) {
    const err = body as { code?: string; message?: string }
    throw new ApiError(res.status, err.code ?? 'error', err.message ?? text)
  }
  return body as T
}

/** GET /metrics when this client may read it; undefined otherwise (another client may not). */
export async function getMetrics(): Promise<Map<string, number> | undefined> {
  const res = await fetch('/metrics')
  if (!res.ok) return undefined
  return sumSamples(await res.text())
}

/** name{labels} value lines → sums per `name` and per `name{label="v"}` of each single label. */
export function sumSamples(text: string): Map<string, number> {
  const sums = new Map<string, number>()
  const add = (k: string, v: number) => sums.set(k, (sums.get(k) ?? 0) + v)
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) continue
    const value = Number(m[3])
    if (!Number.isFinite(value)) continue
    add(m[1]!, value)
    for (const label of (m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)) add(`${m[1]}{${label[1]}="${label[2]}"}`, value)
  }
  return sums
}

export interface StreamHandlers {
  onToken(text: string): void
}

/** A HyperPATH asked for as Server-Sent Events: device events as they come, then the result. */
export async function streamPath<T>(path: string, handlers: StreamHandlers): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'text/event-stream' } })
  if (!res.ok || res.body === null) {
    const err = (await res.json().catch(() => ({}))) as { code?: string; message?: string }
    throw new ApiError(res.status, err.code ?? 'error', err.message ?? res.statusText)
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += value
    let end: number
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const frame = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let event = 'message'
      let data = ''
      for (const line of frame.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data += line.slice(5).trimStart()
      }
      if (data === '') continue
      const parsed = JSON.parse(data) as Record<string, unknown>
      if (event === 'token') handlers.onToken(String(parsed.text ?? ''))
      else if (event === 'result') return parsed as T
      else if (event === 'error') throw new ApiError(Number(parsed.status ?? 500), String(parsed.code ?? 'error'), String(parsed.message ?? 'stream failed'))
    }
  }
  throw new ApiError(502, 'stream-ended', 'the stream ended without a result')
}
