/**
 * @module
 * The relay's HTTP client: node:http(s) with keep-alive agents. The global `fetch` (undici's
 * WHATWG layer) cost the router most of its time — measured at 0.13× of a worker's rate for a
 * cached answer — so the hot path talks to workers through the plain client and hands the
 * answer on as bytes, or as a web stream for Server-Sent Events.
 *
 * A kept-alive connection the worker closed while idle fails the next request with
 * ECONNRESET before any answer: that request is sent again once on a fresh connection
 * (`stale: true`), as Node's documentation advises, and never counts against the node.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'

// noDelay: a relayed request is one small write; Nagle would hold it for the previous one's ACK.
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, noDelay: true }
const http = new Agent(AGENT_OPTIONS)
const https = new HttpsAgent(AGENT_OPTIONS)

export interface UpstreamRequest {
  /** Connect to this address, whatever the host name resolves to now (relay/targets.ts). */
  readonly pin?: { readonly address: string; readonly family: 4 | 6 } | undefined
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array | undefined
  readonly signal: AbortSignal
}

/** A failure before any answer; `stale`: a reused idle connection the peer had closed. */
export class UpstreamError extends Error {
  readonly code: string | undefined
  readonly stale: boolean
  constructor(message: string, code: string | undefined, stale: boolean) {
    super(message)
    this.code = code
    this.stale = stale
  }
}

/** Sends one request; resolves with the answer's head, its body still to be read. */
export function send(url: string, req: UpstreamRequest): Promise<IncomingMessage> {
  const target = new URL(url)
  const secure = target.protocol === 'https:'
  return new Promise((resolve, reject) => {
    const pin = req.pin
    const outgoing = (secure ? httpsRequest : httpRequest)(target, {
      method: req.method, headers: req.headers, agent: secure ? https : http, signal: req.signal,
      ...(pin === undefined ? {} : {
        lookup: ((_host: string, opts: { all?: boolean }, done: (...args: unknown[]) => void) => {
          if (opts.all === true) done(null, [{ address: pin.address, family: pin.family }])
          else done(null, pin.address, pin.family)
        }) as unknown as LookupFunction,
      }),
    })
    outgoing.once('response', resolve)
    outgoing.once('error', (err: NodeJS.ErrnoException) => {
      reject(new UpstreamError(err.message, err.code, outgoing.reusedSocket && err.code === 'ECONNRESET'))
    })
    if (req.body !== undefined && req.body.byteLength > 0) outgoing.end(req.body)
    else outgoing.end()
  })
}

/** Answer headers as a web Headers (repeated fields appended). */
export function headersOf(raw: IncomingHttpHeaders): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const v of value) out.push([key, v])
    else out.push([key, value])
  }
  return out
}
