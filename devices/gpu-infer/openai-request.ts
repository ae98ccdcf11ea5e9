/**
 * @module
 * OpenAI request bodies → gpu-infer request messages. Only fields that change the computation
 * enter the message (and so the hashpath); `stream`, `user`, `n: 1` and other transport or
 * bookkeeping fields do not. Unsupported options that would change the answer (`n > 1`,
 * `logprobs`, tools) are refused with a 400 rather than silently ignored.
 */
import { InvalidRequestError } from '../../core/errors.js'
import type { Message } from '../../core/types.js'
import { fromJson } from '../../core/json.js'
import { checkJsonSchemaText } from './engine-schema.js'

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
  if (body.n !== undefined && body.n !== 1) refuse('n', 'must be 1: one choice per request keeps results content-addressed')
  if (body.logprobs !== undefined && body.logprobs !== false && body.logprobs !== null) refuse('logprobs', 'is not supported')
  if (body.tools !== undefined || body.functions !== undefined) refuse('tools', 'are not supported')
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
  return { path: 'chat', messages: fromJson(body.messages, 'messages'), ...samplingKeys(body) }
}

export function completionRequestMessage(body: Body): Message {
  const prompt = body.prompt
  const text = Array.isArray(prompt) && prompt.length === 1 ? prompt[0] : prompt
  if (typeof text !== 'string') refuse('prompt', 'must be a string')
  return { path: 'run', prompt: text as string, ...samplingKeys(body) }
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
