/**
 * @module
 * The OpenAI-compatible surface of gpu-infer, so existing clients work unchanged when pointed at
 * `http://host:8734/~gpu-infer@1.0/v1`:
 *
 *     POST /~gpu-infer@1.0/v1/chat/completions     → gpu-infer `chat`
 *     POST /~gpu-infer@1.0/v1/completions          → gpu-infer `run`
 *     POST /~gpu-infer@1.0/v1/embeddings           → gpu-infer `embed`
 *     POST /~gpu-infer@1.0/v1/tokenize, /detokenize → gpu-infer `tokenize`, `detokenize` (llama-server's shapes)
 *     GET  /~gpu-infer@1.0/v1/models               → the configured models
 *     any other /v1/…                              → 404 `unknown-route`
 *
 * Each call is translated into an AO-Core request message and resolved like any path: it gets a
 * hashpath, a step record and cache semantics. The OpenAI answer carries them in the `hashpath`
 * and `ao-id` headers (and a `hashbeam` field on the last stream chunk); `system_fingerprint`
 * is the result's `profile-id`. Errors use OpenAI's `{error: {message, type, code, param}}` shape.
 * `n` choices are n requests, each with its own hashpath (openai-request.ts `choiceRequests`).
 */
import { randomUUID } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { InvalidRequestError, NotFoundError, isAoError } from '../../core/errors.js'
import { idOf } from '../../core/id.js'
import { checkJsonDepth } from '../../core/json.js'
import type { ResolveOptions } from '../../core/resolve.js'
import type { HttpKit, Logger, Message, ResolveResult } from '../../core/types.js'
import { paramOf } from './openai-errors.js'
import { chatRequestMessage, choiceRequests, completionRequestMessage, detokenizeRequestMessage, embeddingsRequestMessage, tokenizeRequestMessage } from './openai-request.js'
import { answerId, choiceRecords, chunkWriter, completionBody, embeddingsBody, finishOf, modelName, toolCallsOf, usageOf, type Kind } from './openai-response.js'

export interface OpenAiInit {
  /** The node's HTTP helpers (resolver, body reading, cache policy, streams, receipts). */
  readonly http: HttpKit
  readonly log: Logger
  /** Most choices (`n`) one request may ask for. */
  readonly maxChoices: number
}


/** OpenAI's `{error: {message, type, code, param}}` of a failure (also the last event of a failed stream). */
export function openAiErrorBody(err: unknown, requestId: string): { error: { message: string; type: string; code: string; param: string | null } } {
  const status = isAoError(err) ? err.status : 500
  const type = status === 404 ? 'not_found_error' : status < 500 ? 'invalid_request_error' : status === 503 ? 'overloaded_error' : 'api_error'
  const message = isAoError(err) ? err.message : `internal error (request ${requestId})`
  return { error: { message, type, code: isAoError(err) ? err.code : 'internal', param: isAoError(err) ? paramOf(err.code, err.detail) : null } }
}

function openAiError(err: unknown, requestId: string, log: Logger): Response {
  const status = isAoError(err) ? err.status : 500
  if (!isAoError(err)) log.error({ err, requestId }, 'openai: request failed')
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId }
  const retry = (err as { retryAfterSeconds?: number }).retryAfterSeconds
  if (retry !== undefined) headers['retry-after'] = String(retry)
  return new Response(JSON.stringify(openAiErrorBody(err, requestId)), { status, headers })
}

export function mountOpenAi(app: Hono, init: OpenAiInit): void {
  const { http, log } = init
  const { resolver } = http

  async function complete(c: Context, deviceName: string, kind: Kind): Promise<Response> {
    const requestId = randomUUID()
    const cleanups: Array<() => void> = []
    try {
      const raw = c.req.raw
      const body = parseJsonObject(await http.readBody(raw, http.bodyLimit))
      const device = resolver.registry.canonical(deviceName)
      const req = kind === 'chat' ? chatRequestMessage(body) : completionRequestMessage(body)
      // n choices are n requests: choice i (i > 0) carries `choice: i`, so it has its own ID,
      // its own seed derived from that ID, its own hashpath, and replays alone.
      const requests = choiceRequests(req, body.n, init.maxChoices)
      const base: Message = { device }
      const signal = http.linkAbort(raw.signal, http.requestTimeoutMs, cleanups)
      const opts: ResolveOptions = { cache: http.cachePolicy(raw.headers.get('cache-control') ?? undefined), log: log.child({ requestId }), signal }
      const created = Math.floor(Date.now() / 1000)
      const headers = { 'x-request-id': requestId }
      if (body.stream !== true) {
        // One after another: n choices never take more than one place in the model's queue.
        const results: ResolveResult[] = []
        for (const r of requests) results.push(await resolver.step(base, idOf(base), r, opts))
        const result = results[0]!
        const receipt = await http.receipt(result, body.attest === true)
        const resultHeaders = { ...headers, hashpath: result.hashpath, 'ao-id': result.id, 'ao-cache': result.cached ? 'hit' : 'miss', ...(receipt === undefined ? {} : { 'ao-receipt': receipt }) }
        for (const [k, v] of result.meta) (resultHeaders as Record<string, string>)[`hashbeam-${k}`] = v
        return c.json(completionBody(kind, results, created), 200, resultHeaders)
      }
      const release = cleanups.splice(0)
      return http.eventStream(async (send, streamSignal) => {
        const out = chunkWriter(kind, send, { id: answerId(kind, requestId), created, model: String(req.model ?? '') })
        try {
          const results: ResolveResult[] = []
          for (const [index, r] of requests.entries()) {
            out.open(index)
            let streamed = false
            const result = await resolver.step(base, idOf(base), r, {
              ...opts, signal: streamSignal,
              stream: {
                write: (event, data) => {
                  if (event !== 'token') return
                  streamed = true
                  const d = data as { text: string; logprobs?: Message[] }
                  out.piece(index, String(d.text), d.logprobs, null)
                },
              },
            })
            const m = result.value as Message
            // A cache hit (or a tool-call turn, which streams no text) arrives whole.
            if (!streamed && ((typeof m.output === 'string' && m.output !== '') || m.logprobs !== undefined)) out.piece(index, String(m.output), m.logprobs as Message[] | undefined, null)
            const calls = toolCallsOf(m)
            if (calls !== undefined) out.toolCalls(index, calls)
            out.piece(index, '', undefined, finishOf(m))
            results.push(result)
          }
          const first = results[0]!
          const m = first.value as Message
          const receipt = await http.receipt(first, body.attest === true)
          const hashbeam = { hashpath: first.hashpath, id: first.id, cached: first.cached, ...(receipt === undefined ? {} : { receipt }), ...(results.length > 1 ? { choices: choiceRecords(results) } : {}) }
          send(JSON.stringify({ id: answerId(kind, requestId), object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model: modelName(m), choices: [], usage: usageOf(results.map((r) => r.value as Message)), system_fingerprint: String(m['profile-id']), hashbeam }))
        } catch (err) {
          if (!isAoError(err)) log.error({ err, requestId }, 'openai: stream failed')
          send(JSON.stringify(openAiErrorBody(err, requestId)))
        }
        send('[DONE]')
      }, signal, headers, () => release.forEach((f) => f()))
    } catch (err) {
      return openAiError(err, requestId, log)
    } finally {
      for (const cleanup of cleanups) cleanup()
    }
  }

  async function models(c: Context, deviceName: string): Promise<Response> {
    const requestId = randomUUID()
    try {
      const device = resolver.registry.canonical(deviceName)
      const result = await resolver.resolve(`/~${device}/models`)
      const list = (result.value as Message[]).map((m) => ({ id: m.name, object: 'model', created: 0, owned_by: 'hashbeam', sha256: m.sha256, bytes: m.bytes, loaded: m.loaded }))
      return c.json({ object: 'list', data: list }, 200, { 'x-request-id': requestId })
    } catch (err) {
      return openAiError(err, requestId, log)
    }
  }

  /** A one-step route (tokenize, detokenize): the body → a request message → the result's JSON shape. */
  async function keyRoute(c: Context, deviceName: string, toRequest: (body: Record<string, unknown>) => Message, shape: (m: Message, body: Record<string, unknown>) => unknown): Promise<Response> {
    const requestId = randomUUID()
    try {
      const raw = c.req.raw
      const body = parseJsonObject(await http.readBody(raw, http.bodyLimit))
      const device = resolver.registry.canonical(deviceName)
      const base: Message = { device }
      const opts: ResolveOptions = { cache: http.cachePolicy(raw.headers.get('cache-control') ?? undefined), log: log.child({ requestId }), signal: raw.signal }
      const result = await resolver.step(base, idOf(base), toRequest(body), opts)
      const headers = { 'x-request-id': requestId, hashpath: result.hashpath, 'ao-id': result.id, 'ao-cache': result.cached ? 'hit' : 'miss' }
      return c.json(shape(result.value as Message, body), 200, headers)
    } catch (err) {
      return openAiError(err, requestId, log)
    }
  }

  // `~gpu-infer` (newest version) or `~gpu-infer@1.0`; the `~` is stripped from the name.
  const prefix = '/:device{~gpu-infer(?:@[0-9.]+)?}/v1'
  app.post(`${prefix}/chat/completions`, (c) => complete(c, deviceOf(c), 'chat'))
  app.post(`${prefix}/completions`, (c) => complete(c, deviceOf(c), 'completion'))
  app.get(`${prefix}/models`, (c) => models(c, deviceOf(c)))
  // llama-server's shapes: {tokens} and {content}.
  app.post(`${prefix}/tokenize`, (c) => keyRoute(c, deviceOf(c), tokenizeRequestMessage, (m) => ({ tokens: m.tokens })))
  app.post(`${prefix}/detokenize`, (c) => keyRoute(c, deviceOf(c), detokenizeRequestMessage, (m) => ({ content: m.content })))
  app.post(`${prefix}/embeddings`, (c) => keyRoute(c, deviceOf(c), embeddingsRequestMessage, embeddingsBody))
  // Anything else under v1/ is a route this node does not have: OpenAI's 404, not a path lookup.
  app.all(`${prefix}/*`, (c) => openAiError(new NotFoundError(`openai: no route ${c.req.method} ${new URL(c.req.url).pathname}`, { code: 'unknown-route' }), randomUUID(), log))
}

/** The raw JSON object: kept as sent, because a JSON schema's property names are case-sensitive. */
function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  let data: unknown
  try {
    data = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (cause) {
    throw new InvalidRequestError(`openai: body is not valid JSON (${(cause as Error).message})`, { code: 'invalid-json', cause })
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new InvalidRequestError('openai: the body must be a JSON object', { code: 'invalid-json' })
  checkJsonDepth(data, 'openai: the body') // before anything recursive (JSON.stringify of a schema) walks it
  return data as Record<string, unknown>
}

const deviceOf = (c: Context): string => (c.req.param('device') ?? '~gpu-infer').slice(1)
