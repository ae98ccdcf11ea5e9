/**
 * @module
 * The HTTP helpers the node lends a device's routes (core/types.ts `HttpKit`): read a body, read
 * the cache policy, answer a resolved result in the codec the client asked for, answer an error
 * — all as the HyperPATH route does, without a device importing node/.
 */
import type { Resolver } from '../core/resolve.js'
import type { HttpKit, RawLane, ResolveResult } from '../core/types.js'
import { parseCacheControl, readBody } from './http-request.js'
import { errorResponse, resultResponse } from './http-response.js'
import { chooseCodec, type TransportKeys } from './negotiate.js'
import { eventStreamResponse, linkAbort } from './http-stream.js'

export interface HttpKitInit {
  readonly resolver: Resolver
  readonly bodyLimit: number
  readonly requestTimeoutMs: number
  /** Inference receipts (devices/attest), when the node issues them. */
  readonly receipts?: { issue(result: ResolveResult, asked: boolean): Promise<string | undefined> }
  /** Where `preempt` puts the lanes the node's server runs before the app. */
  readonly lanes: RawLane[]
}

const NO_RECEIPT = async (): Promise<undefined> => undefined

const asked = (headers: Headers, transport: TransportKeys): boolean =>
  transport['accept-codec'] !== undefined || transport['require-codec'] !== undefined ||
  headers.has('accept-codec') || headers.has('require-codec') ||
  /application\/(json|cbor|httpsig)|multipart\/form-data/i.test(headers.get('accept') ?? '')

export function createHttpKit(init: HttpKitInit): HttpKit {
  return {
    bodyLimit: init.bodyLimit,
    requestTimeoutMs: init.requestTimeoutMs,
    resolver: init.resolver,
    cachePolicy: parseCacheControl,
    readBody,
    reply(result, request, requestId, opts = {}) {
      const transport: TransportKeys = {}
      for (const name of ['accept-codec', 'require-codec'] as const) {
        const value = opts.keys?.[name]
        if (typeof value === 'string') transport[name] = value
      }
      const codec = opts.defaultCodec !== undefined && !asked(request.headers, transport)
        ? opts.defaultCodec
        : chooseCodec(request.headers, transport)
      return resultResponse(result, { codec }, requestId)
    },
    error: errorResponse,
    linkAbort,
    eventStream: eventStreamResponse,
    receipt: init.receipts === undefined ? NO_RECEIPT : (result, asked) => init.receipts!.issue(result, asked),
    preempt: (lane) => { init.lanes.push(lane) },
  }
}
