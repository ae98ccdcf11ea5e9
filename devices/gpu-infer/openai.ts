/**
 * @module
 * The OpenAI-compatible surface of gpu-infer, so existing clients work unchanged when pointed at
 * `http://host:8734/~gpu-infer@1.0/v1`:
 *
 *     POST /~gpu-infer@1.0/v1/chat/completions     → gpu-infer `chat`
 *     POST /~gpu-infer@1.0/v1/completions          → gpu-infer `run`
 *     GET  /~gpu-infer@1.0/v1/models               → the configured models
 *
 * Each call is translated into an AO-Core request message and resolved like any path: it gets a
 * hashpath, a step record and cache semantics. The OpenAI answer carries them in the `hashpath`
 * and `ao-id` headers (and a `hashbeam` field on the last stream chunk); `system_fingerprint`
 * is the result's `profile-id`. Errors use OpenAI's `{error: {message, type, code}}` shape.
 */
import { randomUUID } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { InvalidRequestError, NotFoundError, isAoError } from '../../core/errors.js'
import { idOf } from '../../core/id.js'
import { checkJsonDepth } from '../../core/json.js'
import type { ResolveOptions } from '../../core/resolve.js'
import type { HttpKit, Logger, Message, ResolveResult } from '../../core/types.js'
import { paramOf } from './openai-errors.js'
import { chatRequestMessage, completionRequestMessage, detokenizeRequestMessage, tokenizeRequestMessage } from './openai-request.js'

export interface OpenAiInit {
  /** The node's HTTP helpers (resolver, body reading, cache policy, streams, receipts). */
  readonly http: HttpKit
  readonly log: Logger
}

type Kind = 'chat' | 'completion'

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

const usageOf = (m: Message) => {
  const u = (m.usage ?? {}) as Message
  return { prompt_tokens: u['prompt-tokens'], completion_tokens: u['completion-tokens'], total_tokens: u['total-tokens'] }
}
const modelName = (m: Message) => String((m.model as Message | undefined)?.name ?? '')
const finishOf = (m: Message) => String(m['finish-reason'])

/** The OpenAI body of a finished result. */
function completionBody(kind: Kind, result: ResolveResult, created: number): unknown {
  const m = result.value as Message
  const common = { id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${result.id}`, created, model: modelName(m), system_fingerprint: String(m['profile-id']), usage: usageOf(m) }
  if (kind === 'chat') {
    return { ...common, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: m.output }, finish_reason: finishOf(m), logprobs: null }] }
  }
  return { ...common, object: 'text_completion', choices: [{ index: 0, text: m.output, finish_reason: finishOf(m), logprobs: null }] }
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
      const base: Message = { device }
      const signal = http.linkAbort(raw.signal, http.requestTimeoutMs, cleanups)
      const opts: ResolveOptions = { cache: http.cachePolicy(raw.headers.get('cache-control') ?? undefined), log: log.child({ requestId }), signal }
      const created = Math.floor(Date.now() / 1000)
      const headers = { 'x-request-id': requestId }
      if (body.stream !== true) {
        const result = await resolver.step(base, idOf(base), req, opts)
        const receipt = await http.receipt(result, body.attest === true)
        const resultHeaders = { ...headers, hashpath: result.hashpath, 'ao-id': result.id, 'ao-cache': result.cached ? 'hit' : 'miss', ...(receipt === undefined ? {} : { 'ao-receipt': receipt }) }
        for (const [k, v] of result.meta) (resultHeaders as Record<string, string>)[`hashbeam-${k}`] = v
        return c.json(completionBody(kind, result, created), 200, resultHeaders)
      }
      const release = cleanups.splice(0)
      return http.eventStream(async (send, streamSignal) => {
        const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${requestId}`
        const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'
        const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
          send(JSON.stringify({ id, object, created, model: String(req.model ?? ''), choices: [{ index: 0, ...choice }], ...extra }))
        const piece = (text: string, finish: string | null) =>
          kind === 'chat' ? chunk({ delta: { content: text }, finish_reason: finish }) : chunk({ text, finish_reason: finish, logprobs: null })
        if (kind === 'chat') chunk({ delta: { role: 'assistant', content: '' }, finish_reason: null })
        let streamed = false
        try {
          const result = await resolver.step(base, idOf(base), req, {
            ...opts, signal: streamSignal,
            stream: { write: (event, data) => { if (event === 'token') { streamed = true; piece(String((data as { text: string }).text), null) } } },
          })
          const m = result.value as Message
          if (!streamed && typeof m.output === 'string' && m.output !== '') piece(m.output, null) // a cache hit streams whole
          piece('', finishOf(m))
          const receipt = await http.receipt(result, body.attest === true)
          const hashbeam = { hashpath: result.hashpath, id: result.id, cached: result.cached, ...(receipt === undefined ? {} : { receipt }) }
          send(JSON.stringify({ id, object, created, model: modelName(m), choices: [], usage: usageOf(m), system_fingerprint: String(m['profile-id']), hashbeam }))
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
  async function keyRoute(c: Context, deviceName: string, toRequest: (body: Record<string, unknown>) => Message, shape: (m: Message) => unknown): Promise<Response> {
    const requestId = randomUUID()
    try {
      const raw = c.req.raw
      const body = parseJsonObject(await http.readBody(raw, http.bodyLimit))
      const device = resolver.registry.canonical(deviceName)
      const base: Message = { device }
      const opts: ResolveOptions = { cache: http.cachePolicy(raw.headers.get('cache-control') ?? undefined), log: log.child({ requestId }), signal: raw.signal }
      const result = await resolver.step(base, idOf(base), toRequest(body), opts)
      const headers = { 'x-request-id': requestId, hashpath: result.hashpath, 'ao-id': result.id, 'ao-cache': result.cached ? 'hit' : 'miss' }
      return c.json(shape(result.value as Message), 200, headers)
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
