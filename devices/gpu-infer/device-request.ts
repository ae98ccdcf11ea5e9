/**
 * @module
 * From a request message (`run&prompt=hi&max-tokens=16`, or a JSON body) to engine parameters.
 *
 * Values arrive typed (`max-tokens+integer=16`, JSON numbers) or as text from a plain query
 * (`max-tokens=16`); both are accepted, and anything else is a 400 with the key's own code.
 * The seed rule is part of the determinism contract: with temperature > 0 and no seed, the seed
 * is the first 4 bytes of sha256 over the request's ID, so the same request always samples the
 * same way — on this node, in another process, or in a replay.
 */
import { sha256 } from '../../core/sha256.js'
import { InvalidRequestError } from '../../core/errors.js'
import { fromBase64Url, idOf } from '../../core/id.js'
import { isMessage } from '../../core/message.js'
import type { Message, Value } from '../../core/types.js'
import type { ChatMessage, GenerateParams } from './engine-request.js'
import { parseJsonSchema } from './engine-schema.js'

const bad = (code: string, message: string): never => {
  throw new InvalidRequestError(`gpu-infer: ${message}`, { code })
}

/** A number from a typed value or a decimal string; undefined when absent. */
function numberKey(req: Message, key: string, code: string): number | undefined {
  const v = req[key]
  if (v === undefined || v === null) return undefined
  if (typeof v === 'number') return v
  if (typeof v === 'string' && /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v.trim())) return Number(v)
  return bad(code, `"${key}" must be a number, got ${JSON.stringify(v).slice(0, 40)}`)
}

/** JSON text or an already-structured value. */
function structured(v: Value, key: string, code: string): unknown {
  if (typeof v !== 'string') return v
  try {
    return JSON.parse(v)
  } catch {
    return bad(code, `"${key}" is neither structured nor valid JSON`)
  }
}

function stopKey(req: Message): string[] | undefined {
  const v = req.stop
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return v.startsWith('[') ? (structured(v, 'stop', 'invalid-stop') as string[]) : [v]
  if (Array.isArray(v)) return v as string[]
  return bad('invalid-stop', '"stop" must be a string or a list of strings')
}

/** The seed a request samples with: its own, or one derived from its ID when sampling. */
export function effectiveSeed(req: Message, temperature: number | undefined, explicit: number | undefined): number | undefined {
  if (explicit !== undefined || temperature === undefined || temperature === 0) return explicit
  const digest = sha256(fromBase64Url(idOf(req)))
  return ((digest[0] ?? 0) << 24 | (digest[1] ?? 0) << 16 | (digest[2] ?? 0) << 8 | (digest[3] ?? 0)) >>> 0
}

/** Engine parameters shared by `run` and `chat`. */
export function generateParams(req: Message): GenerateParams {
  const temperature = numberKey(req, 'temperature', 'invalid-temperature')
  const seed = effectiveSeed(req, temperature, numberKey(req, 'seed', 'invalid-seed'))
  const model = req.model
  if (model !== undefined && typeof model !== 'string') bad('invalid-model', '"model" must be a name or a sha256')
  const schema = req['json-schema']
  const params: Record<string, unknown> = {
    model, temperature, seed,
    maxTokens: numberKey(req, 'max-tokens', 'invalid-max-tokens'),
    topK: numberKey(req, 'top-k', 'invalid-top-k'),
    topP: numberKey(req, 'top-p', 'invalid-top-p'),
    minP: numberKey(req, 'min-p', 'invalid-min-p'),
    repeatPenalty: numberKey(req, 'repeat-penalty', 'invalid-repeat-penalty'),
    stop: stopKey(req),
    jsonSchema: schema === undefined ? undefined : parseJsonSchema(schema),
  }
  for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k]
  return params as GenerateParams
}

/** The prompt of `run`. */
export function promptOf(req: Message): unknown {
  return req.prompt
}

/** The messages of `chat`: a list of `{role, content}` messages or their JSON text. */
export function messagesOf(req: Message): ChatMessage[] {
  const v = req.messages
  if (v === undefined) return bad('invalid-messages', '"messages" is required')
  const list = structured(v, 'messages', 'invalid-messages')
  if (!Array.isArray(list) || !list.every((m) => isMessage(m as Value) || (typeof m === 'object' && m !== null))) {
    return bad('invalid-messages', '"messages" must be a list of {role, content}')
  }
  return list as ChatMessage[]
}
