/**
 * @module
 * Request shapes of the engine and their validation.
 *
 * Everything that can be checked without the model is checked here, before a request takes a
 * queue slot, and each mistake has its own stable 400 code so clients can tell them apart.
 * Checks that need the tokenizer (prompt length vs context) happen once the model is loaded.
 * The output is a fully resolved `SamplerSettings`: every default filled in, so a result can
 * record exactly what it was computed with.
 */
import { InvalidRequestError } from '../../core/errors.js'
import { CHAT_ROLES, LIMITS, SAMPLER_DEFAULTS } from './constants.js'
import type { TokenLogprob } from './engine-generate.js'
import type { ToolsRequest } from './engine-tools.js'

/** Generation parameters shared by `complete` and `chat`. */
export interface GenerateParams {
  /** A registered model name or its sha256 (hex). Optional when the engine has one model. */
  model?: string
  maxTokens?: number
  /** 0 = greedy (the default). */
  temperature?: number
  topK?: number
  topP?: number
  minP?: number
  /** 1 = off (the default); > 1 penalizes the last 64 generated tokens. */
  repeatPenalty?: number
  /** Sampling seed (uint32). With temperature > 0 and no seed, the engine draws one and reports it. */
  seed?: number
  /** Stop sequences: generation ends before the first occurrence, which is not returned. */
  stop?: string | string[]
  /** A JSON schema (node-llama-cpp's subset); the output then parses and validates. */
  jsonSchema?: unknown
  /** Abort: generation stops, the sequence is freed, the result has finishReason 'abort'. */
  signal?: AbortSignal
  /** Streaming: called with each new piece of output text (never with stop-sequence text), and its tokens' logprobs when asked for. */
  onToken?: (text: string, logprobs?: TokenLogprob[]) => void
  /** Record each chosen token's logprob and this many most likely alternatives (0–20). */
  logprobs?: number
}

export interface CompleteRequest extends GenerateParams {
  prompt: string
}

export type ChatRole = (typeof CHAT_ROLES)[number]

export interface ChatMessage {
  role: ChatRole
  /** Text, or OpenAI-style text parts (joined). */
  content: string | Array<{ type: 'text'; text: string }>
}

export interface ChatRequest extends GenerateParams {
  messages: ChatMessage[]
  /** Functions the model may call (engine-tools.ts); checked with `checkTools`. */
  tools?: ToolsRequest
}

/** The sampler a request ran with, every default resolved. Part of a result's identity. */
export interface SamplerSettings {
  temperature: number
  topK: number
  topP: number
  minP: number
  repeatPenalty: number
  /** null only for greedy decoding, where no random number is drawn. */
  seed: number | null
  maxTokens: number
}

const bad = (code: string, message: string): never => {
  throw new InvalidRequestError(`gpu-infer: ${message}`, { code })
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** Resolve and check sampling parameters. `seed` stays null when greedy and none was given. */
export function resolveSampler(p: GenerateParams, limits: { defaultMaxTokens: number; maxTokensCap: number }): SamplerSettings & { stop: string[] } {
  const maxTokens = p.maxTokens ?? Math.min(limits.defaultMaxTokens, limits.maxTokensCap)
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > limits.maxTokensCap) {
    bad('invalid-max-tokens', `maxTokens must be an integer from 1 to ${limits.maxTokensCap}`)
  }
  const temperature = p.temperature ?? SAMPLER_DEFAULTS.temperature
  if (!isNum(temperature) || temperature < 0 || temperature > 100) bad('invalid-temperature', 'temperature must be a number from 0 to 100')
  const topK = p.topK ?? SAMPLER_DEFAULTS.topK
  if (!Number.isInteger(topK) || topK < 0) bad('invalid-top-k', 'topK must be an integer >= 0 (0 = off)')
  const topP = p.topP ?? SAMPLER_DEFAULTS.topP
  if (!isNum(topP) || topP <= 0 || topP > 1) bad('invalid-top-p', 'topP must be a number in (0, 1]')
  const minP = p.minP ?? SAMPLER_DEFAULTS.minP
  if (!isNum(minP) || minP < 0 || minP > 1) bad('invalid-min-p', 'minP must be a number in [0, 1]')
  const repeatPenalty = p.repeatPenalty ?? SAMPLER_DEFAULTS.repeatPenalty
  if (!isNum(repeatPenalty) || repeatPenalty <= 0 || repeatPenalty > 10) bad('invalid-repeat-penalty', 'repeatPenalty must be a number in (0, 10] (1 = off)')
  let seed: number | null = null
  if (p.seed !== undefined && p.seed !== null) {
    if (!Number.isInteger(p.seed) || p.seed < 0 || p.seed > 0xffffffff) bad('invalid-seed', 'seed must be an integer from 0 to 4294967295')
    seed = p.seed
  }
  const stop = p.stop === undefined ? [] : typeof p.stop === 'string' ? [p.stop] : p.stop
  if (!Array.isArray(stop) || stop.length > LIMITS.maxStopSequences ||
      !stop.every((s) => typeof s === 'string' && s.length > 0 && s.length <= LIMITS.maxStopLength)) {
    bad('invalid-stop', `stop must be up to ${LIMITS.maxStopSequences} non-empty strings of at most ${LIMITS.maxStopLength} characters`)
  }
  if (p.signal !== undefined && !(p.signal instanceof AbortSignal)) bad('invalid-request', 'signal must be an AbortSignal')
  if (p.onToken !== undefined && typeof p.onToken !== 'function') bad('invalid-request', 'onToken must be a function')
  if (p.model !== undefined && (typeof p.model !== 'string' || p.model === '')) bad('invalid-model', 'model must be a non-empty string')
  if (p.logprobs !== undefined && (!Number.isInteger(p.logprobs) || p.logprobs < 0 || p.logprobs > LIMITS.maxTopLogprobs)) {
    bad('invalid-logprobs', `logprobs (top alternatives per token) must be an integer from 0 to ${LIMITS.maxTopLogprobs}`)
  }
  return { temperature, topK, topP, minP, repeatPenalty, seed, maxTokens, stop: [...stop] }
}

/** Check a completion prompt. */
export function checkPrompt(prompt: unknown): string {
  if (typeof prompt !== 'string') bad('invalid-prompt', 'prompt must be a string')
  if (prompt === '') bad('empty-prompt', 'prompt is empty')
  return prompt as string
}

/** A checked chat message: text content, and the tool-call fields of OpenAI's messages. */
export interface CheckedMessage {
  role: ChatRole | 'tool'
  content: string
  /** An assistant turn's calls (their results follow as `tool` messages). */
  toolCalls?: Array<{ id: string; name: string; arguments: string }>
  /** A `tool` message: which call it answers. */
  toolCallId?: string
}

function checkToolCalls(calls: unknown, at: string): NonNullable<CheckedMessage['toolCalls']> {
  if (!Array.isArray(calls) || calls.length > LIMITS.maxTools) return bad('invalid-messages', `${at}.tool_calls must be a list of at most ${LIMITS.maxTools} calls`)
  return calls.map((c, j) => {
    const fn = (c as { function?: { name?: unknown; arguments?: unknown } } | null)?.function
    const id = (c as { id?: unknown } | null)?.id
    if (typeof fn?.name !== 'string' || typeof fn.arguments !== 'string' || (id !== undefined && typeof id !== 'string')) {
      return bad('invalid-messages', `${at}.tool_calls[${j}] must be {id, type: function, function: {name, arguments}}`)
    }
    return { id: (id as string | undefined) ?? '', name: fn.name, arguments: fn.arguments }
  })
}

/** Check chat messages and flatten text parts. */
export function checkMessages(messages: unknown): CheckedMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) bad('invalid-messages', 'messages must be a non-empty array')
  const list = messages as unknown[]
  if (list.length > LIMITS.maxMessages) bad('invalid-messages', `at most ${LIMITS.maxMessages} messages`)
  const out = list.map((m, i): CheckedMessage => {
    if (typeof m !== 'object' || m === null) return bad('invalid-messages', `messages[${i}] must be an object`)
    const { role, content } = m as { role?: unknown; content?: unknown }
    const calls = (m as { tool_calls?: unknown }).tool_calls
    const withCalls = role === 'assistant' && calls !== undefined && calls !== null
    if (role === 'tool') {
      const id = (m as { tool_call_id?: unknown }).tool_call_id
      if (typeof id !== 'string' || typeof content !== 'string') return bad('invalid-messages', `messages[${i}] (role tool) needs tool_call_id and string content`)
      return { role: 'tool', content, toolCallId: id }
    }
    if (typeof role !== 'string' || !(CHAT_ROLES as readonly string[]).includes(role)) {
      return bad('invalid-messages', `messages[${i}].role must be one of ${[...CHAT_ROLES, 'tool'].join(', ')}`)
    }
    let text: string
    if (typeof content === 'string') text = content
    else if (withCalls && (content === null || content === undefined)) text = ''
    else if (Array.isArray(content) && content.every((c) => typeof c === 'object' && c !== null && c.type === 'text' && typeof c.text === 'string')) {
      text = content.map((c: { text: string }) => c.text).join('')
    } else return bad('invalid-messages', `messages[${i}].content must be a string or text parts`)
    return { role: role as ChatRole, content: text, ...(withCalls ? { toolCalls: checkToolCalls(calls, `messages[${i}]`) } : {}) }
  })
  if (out.every((m) => m.content === '' && m.toolCalls === undefined)) bad('empty-prompt', 'every message is empty')
  return out
}
