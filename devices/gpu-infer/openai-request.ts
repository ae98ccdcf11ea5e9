/**
 * @module
 * OpenAI request bodies → gpu-infer request messages. Only fields that change the computation
 * enter the message (and so the hashpath); `stream`, `user`, `n` and other transport or
 * bookkeeping fields do not (`n` becomes n requests: `choiceRequests`). Options that would change
 * the answer and are not computed here (`presence_penalty`, `logit_bias`, audio, …) are refused
 * with a 400 naming them, never silently ignored.
 */
import { InvalidRequestError } from '../../core/errors.js'
import type { Message } from '../../core/types.js'
import { fromJson } from '../../core/json.js'
import { checkJsonSchemaText } from './engine-schema.js'
import { LIMITS } from './constants.js'

type Body = Record<string, unknown>

const refuse = (field: string, why: string): never => {
  throw new InvalidRequestError(`openai: "${field}" ${why}`, { code: 'unsupported-parameter', detail: { param: field } })
}

/** A value of the wrong type: 400 with the engine's own code for that key. */
const invalid = (field: string, code: string, why: string): never => {
  throw new InvalidRequestError(`openai: "${field}" ${why}`, { code, detail: { param: field } })
}

/** Fields shared by both endpoints, in gpu-infer's key names. */
function samplingKeys(body: Body): Message {
  if (body.functions !== undefined) refuse('functions', 'is the deprecated form of tools: send tools')
  // Options that would change the answer and that this node does not compute: refused, never ignored.
  for (const key of ['presence_penalty', 'frequency_penalty']) {
    if (body[key] !== undefined && body[key] !== null && body[key] !== 0) refuse(key, 'is not supported (repeat_penalty is)')
  }
  if (body.logit_bias !== undefined && body.logit_bias !== null && Object.keys(body.logit_bias as object).length > 0) refuse('logit_bias', 'is not supported')
  for (const key of ['audio', 'prediction', 'web_search_options']) if (body[key] !== undefined && body[key] !== null) refuse(key, 'is not supported')
  const modalities = body.modalities
  if (modalities !== undefined && modalities !== null && !(Array.isArray(modalities) && modalities.every((m) => m === 'text'))) refuse('modalities', 'must be ["text"]')
  const out: Message = {}
  const copy = (from: string, to: string) => {
    const v = body[from]
    if (v !== undefined && v !== null) out[to] = fromJson(v, from)
  }
  copy('model', 'model')
  copy('max_completion_tokens', 'max-tokens')
  if (out['max-tokens'] === undefined) copy('max_tokens', 'max-tokens')
  copy('temperature', 'temperature')
  copy('top_p', 'top-p')
  copy('top_k', 'top-k')
  copy('min_p', 'min-p')
  copy('repeat_penalty', 'repeat-penalty')
  copy('seed', 'seed')
  copy('stop', 'stop')
  const format = body.response_format
  if (typeof format === 'object' && format !== null) {
    const f = format as Body
    if (f.type === 'json_schema') {
      const schema = (f.json_schema as Body | undefined)?.schema
      if (schema === undefined) refuse('response_format.json_schema.schema', 'is required')
      // As JSON text: property names in a schema are case-sensitive, message keys are not.
      // Sized here, before the request is hashed: a refused schema should cost nothing more.
      out['json-schema'] = JSON.stringify(schema)
      checkJsonSchemaText(out['json-schema'])
    } else if (f.type === 'json_object') {
      out['json-schema'] = JSON.stringify({ type: 'object' })
    } else if (f.type !== 'text') {
      refuse('response_format.type', 'must be text, json_object or json_schema')
    }
  }
  return out
}

export function chatRequestMessage(body: Body): Message {
  if (!Array.isArray(body.messages)) refuse('messages', 'must be a list')
  // Chat: `logprobs: true` turns them on, `top_logprobs` (0–20) asks for alternatives.
  const logprobs = body.logprobs === true
  if (body.logprobs !== undefined && body.logprobs !== null && typeof body.logprobs !== 'boolean') invalid('logprobs', 'invalid-logprobs', 'must be true or false')
  const top = body.top_logprobs
  if (top !== undefined && top !== null && !logprobs) invalid('top_logprobs', 'invalid-logprobs', 'needs logprobs: true')
  if (top !== undefined && top !== null && (!Number.isInteger(top) || (top as number) < 0 || (top as number) > LIMITS.maxTopLogprobs)) {
    invalid('top_logprobs', 'invalid-logprobs', `must be an integer from 0 to ${LIMITS.maxTopLogprobs}`)
  }
  return {
    path: 'chat', messages: fromJson(body.messages, 'messages'), ...samplingKeys(body),
    ...(logprobs ? { logprobs: (top as number | undefined | null) ?? 0 } : {}),
    ...toolKeys(body),
  }
}

/** OpenAI's tools → `tools` (JSON text: function names and schemas are case-sensitive), `tool-choice`, `parallel-tool-calls`. */
function toolKeys(body: Body): Message {
  const { tools, tool_choice: choice, parallel_tool_calls: parallel } = body
  const out: Message = {}
  if (tools !== undefined && tools !== null && !(Array.isArray(tools) && tools.length === 0)) {
    if (!Array.isArray(tools)) invalid('tools', 'invalid-tools', 'must be a list of {type: function, function}')
    const list = (tools as unknown[]).map((t, i) => {
      const fn = (t as { type?: unknown; function?: Record<string, unknown> } | null)
      if (fn?.type !== 'function' || typeof fn.function !== 'object' || fn.function === null) invalid(`tools[${i}]`, 'invalid-tools', 'must be {type: function, function: {name, description, parameters}}')
      const { name, description, parameters } = fn!.function!
      return { name, ...(description === undefined ? {} : { description }), ...(parameters === undefined ? {} : { parameters }) }
    })
    out.tools = JSON.stringify(list)
    checkJsonSchemaText(out.tools) // sized before the request is hashed, like a response_format schema
  }
  if (choice !== undefined && choice !== null) {
    if (out.tools === undefined && choice !== 'none') invalid('tool_choice', 'invalid-tool-choice', 'needs tools')
    if (choice === 'auto' || choice === 'none' || choice === 'required') out['tool-choice'] = choice
    else {
      const name = (choice as { type?: unknown; function?: { name?: unknown } }).function?.name
      if ((choice as { type?: unknown }).type !== 'function' || typeof name !== 'string') invalid('tool_choice', 'invalid-tool-choice', 'must be auto, none, required or {type: function, function: {name}}')
      out['tool-choice'] = `function:${name as string}`
    }
  }
  if (parallel !== undefined && parallel !== null) {
    if (typeof parallel !== 'boolean') invalid('parallel_tool_calls', 'invalid-tools', 'must be true or false')
    if (out.tools !== undefined) out['parallel-tool-calls'] = parallel as boolean
  }
  return out
}

/**
 * The request of each of `n` choices. Choice 0 is the request itself (so `n: 1` and the first
 * of `n: 3` are one computation); choice i > 0 adds `choice: i`, which gives it its own ID and
 * so its own derived seed (device-request.ts).
 */
export function choiceRequests(req: Message, n: unknown, max: number): Message[] {
  if (n === undefined || n === null) return [req]
  if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > max) invalid('n', 'invalid-n', `must be an integer from 1 to ${max} (the node's --max-choices)`)
  return Array.from({ length: n as number }, (_, i) => (i === 0 ? req : { ...req, choice: i }))
}

export function completionRequestMessage(body: Body): Message {
  const prompt = body.prompt
  const text = Array.isArray(prompt) && prompt.length === 1 ? prompt[0] : prompt
  if (typeof text !== 'string') refuse('prompt', 'must be a string')
  // Completions: `logprobs` is the number of alternatives (0–20); null/absent = none.
  const logprobs = body.logprobs
  if (logprobs !== undefined && logprobs !== null && (!Number.isInteger(logprobs) || (logprobs as number) < 0 || (logprobs as number) > LIMITS.maxTopLogprobs)) {
    invalid('logprobs', 'invalid-logprobs', `must be an integer from 0 to ${LIMITS.maxTopLogprobs}`)
  }
  return { path: 'run', prompt: text as string, ...samplingKeys(body), ...(typeof logprobs === 'number' ? { logprobs } : {}) }
}

/** llama-server's `/tokenize` body: {content, add_special, parse_special, with_pieces, model}. */
export function tokenizeRequestMessage(body: Body): Message {
  if (typeof body.content !== 'string') invalid('content', 'invalid-content', 'must be a string')
  const out: Message = { path: 'tokenize', content: body.content as string }
  for (const [from, to] of [['add_special', 'add-special'], ['parse_special', 'parse-special'], ['with_pieces', 'with-pieces']] as const) {
    const v = body[from]
    if (v === undefined || v === null) continue
    if (typeof v !== 'boolean') invalid(from, 'invalid-request', 'must be true or false')
    out[to] = v as boolean
  }
  if (body.model !== undefined && body.model !== null) out.model = fromJson(body.model, 'model')
  return out
}

/** llama-server's `/detokenize` body: {tokens, model}. */
export function detokenizeRequestMessage(body: Body): Message {
  if (!Array.isArray(body.tokens)) invalid('tokens', 'invalid-tokens', 'must be a list of token ids')
  const out: Message = { path: 'detokenize', tokens: fromJson(body.tokens, 'tokens') }
  if (body.model !== undefined && body.model !== null) out.model = fromJson(body.model, 'model')
  return out
}

/** OpenAI's embeddings body: {input, model, encoding_format (the answer's shape only), dimensions}. */
export function embeddingsRequestMessage(body: Body): Message {
  const input = body.input
  const ok = typeof input === 'string' || (Array.isArray(input) && input.every((x) => typeof x === 'string'))
  if (!ok) invalid('input', 'invalid-input', 'must be a string or a list of strings (token-id input is not supported)')
  const format = body.encoding_format
  if (format !== undefined && format !== null && format !== 'float' && format !== 'base64') invalid('encoding_format', 'invalid-request', 'must be float or base64')
  const out: Message = { path: 'embed', input: fromJson(input, 'input') }
  if (body.model !== undefined && body.model !== null) out.model = fromJson(body.model, 'model')
  if (body.dimensions !== undefined && body.dimensions !== null) {
    if (!Number.isInteger(body.dimensions)) invalid('dimensions', 'unsupported-parameter', 'must be an integer')
    out.dimensions = body.dimensions as number
  }
  return out
}
