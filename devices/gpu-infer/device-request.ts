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
import { optionalList, optionalNumber, optionalString, optionalStrings, refuse, structuredValue, type KeyRule } from '../../core/assert.js'
import { fromBase64Url, idOf } from '../../core/id.js'
import type { Message } from '../../core/types.js'
import type { ChatMessage, GenerateParams } from './engine-request.js'
import type { DetokenizeRequest, TokenizeRequest } from './engine-tokens.js'
import type { EmbedRequest } from './engine-embed.js'
import { checkTools, type ToolsRequest } from './engine-tools.js'
import { InvalidRequestError } from '../../core/errors.js'
import { parseJsonSchema } from './engine-schema.js'

const rule = (code: string): KeyRule => ({ device: 'gpu-infer', code })

/** The seed a request samples with: its own, or one derived from its ID when sampling. */
export function effectiveSeed(req: Message, temperature: number | undefined, explicit: number | undefined): number | undefined {
  if (temperature === undefined || temperature === 0) return explicit
  // Choice i of n (`choice: i`) always derives its seed from its own ID, which holds the
  // request's explicit seed too: n choices of one seeded request differ, and repeat.
  if (explicit !== undefined && optionalNumber(req, 'choice', rule('invalid-choice')) === undefined) return explicit
  const digest = sha256(fromBase64Url(idOf(req)))
  return ((digest[0] ?? 0) << 24 | (digest[1] ?? 0) << 16 | (digest[2] ?? 0) << 8 | (digest[3] ?? 0)) >>> 0
}

/** Engine parameters shared by `run` and `chat`. */
export function generateParams(req: Message): GenerateParams {
  const temperature = optionalNumber(req, 'temperature', rule('invalid-temperature'))
  const choice = optionalNumber(req, 'choice', rule('invalid-choice'))
  if (choice !== undefined && (!Number.isInteger(choice) || choice < 0 || choice > 1024)) refuse(rule('invalid-choice'), '"choice" must be an integer from 0 to 1024')
  const seed = effectiveSeed(req, temperature, optionalNumber(req, 'seed', rule('invalid-seed')))
  const model = optionalString(req, 'model', rule('invalid-model'))
  const schema = req['json-schema']
  const params: Record<string, unknown> = {
    model, temperature, seed,
    maxTokens: optionalNumber(req, 'max-tokens', rule('invalid-max-tokens')),
    topK: optionalNumber(req, 'top-k', rule('invalid-top-k')),
    topP: optionalNumber(req, 'top-p', rule('invalid-top-p')),
    minP: optionalNumber(req, 'min-p', rule('invalid-min-p')),
    repeatPenalty: optionalNumber(req, 'repeat-penalty', rule('invalid-repeat-penalty')),
    stop: optionalStrings(req, 'stop', rule('invalid-stop')),
    jsonSchema: schema === undefined ? undefined : parseJsonSchema(schema),
    logprobs: optionalNumber(req, 'logprobs', rule('invalid-logprobs')),
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
  const list = optionalList(req, 'messages', rule('invalid-messages'))
  if (list === undefined) return refuse(rule('invalid-messages'), '"messages" is required')
  if (!list.every((m) => typeof m === 'object' && m !== null)) refuse(rule('invalid-messages'), '"messages" must be a list of {role, content}')
  return list as ChatMessage[]
}

/** A flag: typed true/false, or the text `true`/`false` from a plain query. */
function optionalFlag(req: Message, key: string, code: string): boolean | undefined {
  const v = req[key]
  if (v === undefined || v === null) return undefined
  if (v === true || v === 'true') return true
  if (v === false || v === 'false') return false
  return refuse(rule(code), `"${key}" must be true or false`)
}

/** `tokenize&content=…` (llama-server's keys, dashed): model, content, add-special, parse-special, with-pieces. */
export function tokenizeParams(req: Message): TokenizeRequest & { withPieces?: boolean } {
  const content = optionalString(req, 'content', rule('invalid-content'))
  if (content === undefined) return refuse(rule('invalid-content'), '"content" is required')
  const out: TokenizeRequest & { withPieces?: boolean } = { content }
  const model = optionalString(req, 'model', rule('invalid-model'))
  if (model !== undefined) out.model = model
  const addSpecial = optionalFlag(req, 'add-special', 'invalid-request')
  if (addSpecial !== undefined) out.addSpecial = addSpecial
  const parseSpecial = optionalFlag(req, 'parse-special', 'invalid-request')
  if (parseSpecial !== undefined) out.parseSpecial = parseSpecial
  const withPieces = optionalFlag(req, 'with-pieces', 'invalid-request')
  if (withPieces !== undefined) out.withPieces = withPieces
  return out
}

/** `detokenize&tokens=[…]`: model, tokens (a list of ids, or its JSON text). */
export function detokenizeParams(req: Message): DetokenizeRequest {
  const list = optionalList(req, 'tokens', rule('invalid-tokens'))
  if (list === undefined) return refuse(rule('invalid-tokens'), '"tokens" is required')
  const model = optionalString(req, 'model', rule('invalid-model'))
  return { tokens: list as number[], ...(model === undefined ? {} : { model }) }
}

/** `embed&input=…` (or a JSON list of texts): model, input, dimensions. */
export function embedParams(req: Message): EmbedRequest {
  const raw = req.input
  if (raw === undefined || raw === null) return refuse(rule('invalid-input'), '"input" is required')
  const input = typeof raw === 'string' && raw.startsWith('[') ? structuredValue(req, 'input', rule('invalid-input')) : raw
  const out: EmbedRequest = { input: input as string | string[] }
  const model = optionalString(req, 'model', rule('invalid-model'))
  if (model !== undefined) out.model = model
  const dimensions = optionalNumber(req, 'dimensions', rule('unsupported-parameter'))
  if (dimensions !== undefined) out.dimensions = dimensions
  return out
}

/**
 * The tools of a `chat`: `tools` (JSON text of [{name, description, parameters}], or the list),
 * `tool-choice` (auto, none, required, or function:NAME), `parallel-tool-calls`. The list is
 * sized like a json-schema before it is parsed or walked.
 */
export function toolsOf(req: Message): ToolsRequest | undefined {
  const choiceText = optionalString(req, 'tool-choice', rule('invalid-tool-choice'))
  if (req.tools === undefined || req.tools === null) {
    if (choiceText !== undefined && choiceText !== 'none') refuse(rule('invalid-tool-choice'), '"tool-choice" needs tools')
    return undefined
  }
  let list: unknown
  try {
    list = parseJsonSchema(req.tools)
  } catch (err) {
    const e = err as InvalidRequestError
    throw new InvalidRequestError(e.message.replace('json-schema', 'tools'), { code: e.code, detail: { ...e.detail, param: 'tools' }, cause: err })
  }
  const choice = choiceText === undefined ? undefined : choiceText.startsWith('function:') ? { name: choiceText.slice(9) } : choiceText
  return checkTools(list, choice, optionalFlag(req, 'parallel-tool-calls', 'invalid-tools'))
}
