/**
 * @module
 * Turns a prompt or chat messages into the exact token ids a request evaluates.
 *
 * We tokenize ourselves rather than letting node-llama-cpp's high-level sessions do it: they
 * strip the SentencePiece leading space and add a repeat penalty by default, so the same text
 * would not be the same computation (research/llama.md §5). Here the rule is plain: BOS when the
 * model asks for it, then the text with special-token parsing off (a user typing `</s>` gets
 * the characters, not the control token).
 *
 * Chat uses the model's own template when the GGUF has one (node-llama-cpp picks the matching
 * wrapper, or renders the Jinja template itself); otherwise a plain `role: text` transcript
 * ending in `assistant:`. Either way the turn-ending markers become stop conditions, so the
 * reply never runs on into an invented next turn.
 */
import { resolveChatWrapper, SpecialToken, SpecialTokensText, type ChatHistoryItem, type ChatModelFunctionCall, type ChatModelFunctions, type ChatWrapper, type LlamaModel, type Token } from 'node-llama-cpp'
import { InvalidRequestError } from '../../core/errors.js'
import type { Logger } from '../../core/types.js'
import { CHAT_ROLES, FALLBACK_ASSISTANT_PREFIX, FALLBACK_TURN_SEPARATOR } from './constants.js'
import type { CheckedMessage } from './engine-request.js'
import { callSyntaxOf } from './engine-tools.js'

export interface RenderedPrompt {
  tokens: Token[]
  /** Text that ends the reply (besides the request's own stop sequences and EOG tokens). */
  stopStrings: string[]
  /** Tokens that end the reply. */
  stopTokens: Set<Token>
  /** How the prompt was built: 'text', 'fallback', or the chat wrapper's name. */
  format: string
}

/** Tokens of a plain completion prompt. */
export function renderCompletion(model: LlamaModel, prompt: string): RenderedPrompt {
  const bos = model.tokens.bos
  const head = model.tokens.shouldPrependBosToken && bos !== null ? [bos] : []
  return { tokens: [...head, ...model.tokenize(prompt, false)], stopStrings: [], stopTokens: new Set(), format: 'text' }
}

/**
 * The chat wrapper of a model with a template, or null (resolved once per loaded model).
 *
 * Always the model's own Jinja template, rendered as written: node-llama-cpp's automatic
 * choice would swap in a "specialized equivalent" wrapper, and some of those (Llama 3.x) put
 * today's date into the system prompt: the same request would then change meaning at
 * midnight. (It is also ~100× faster: no equivalence probing.) A template that does not
 * render falls back to the plain transcript, with a warning.
 */
export function chatWrapperFor(model: LlamaModel, log: Logger): ChatWrapper | null {
  const template = model.fileInfo.metadata.tokenizer?.chat_template
  if (typeof template !== 'string' || template === '') return null
  try {
    return resolveChatWrapper(model, {
      type: 'jinjaTemplate',
      customWrapperSettings: { jinjaTemplate: { template } },
      fallbackToOtherWrappersOnJinjaError: false,
      warningLogs: false,
    }) ?? null
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'gpu-infer: chat template does not render; using the plain transcript')
    return null
  }
}

/** Tokens of a chat, using `wrapper` when the model has a template. */
export function renderChat(
  model: LlamaModel,
  wrapper: ChatWrapper | null,
  messages: readonly CheckedMessage[],
  functions?: ChatModelFunctions,
): RenderedPrompt {
  const usesTools = functions !== undefined || messages.some((m) => m.role === 'tool' || m.toolCalls !== undefined)
  if (usesTools) callSyntaxOf(wrapper) // 400 tools-unsupported without the template's tool syntax
  if (wrapper === null) {
    const text = messages.map((m) => `${m.role}: ${m.content}`).join(FALLBACK_TURN_SEPARATOR) +
      FALLBACK_TURN_SEPARATOR + FALLBACK_ASSISTANT_PREFIX
    const rendered = renderCompletion(model, text)
    return { ...rendered, stopStrings: CHAT_ROLES.map((r) => `${FALLBACK_TURN_SEPARATOR}${r}:`), format: 'fallback' }
  }
  const history = usesTools ? toolHistory(messages) : messages.map((m): ChatHistoryItem =>
    m.role === 'assistant' ? { type: 'model', response: [m.content] }
      : m.role === 'system' ? { type: 'system', text: m.content }
        : { type: 'user', text: m.content })
  // After tool results the assistant's turn goes on (the template's own continuation).
  const last = history.at(-1)
  const continues = usesTools && last?.type === 'model' && last.response.some((r) => typeof r !== 'string' && r.type === 'functionCall')
  if (!continues) history.push({ type: 'model', response: [] })
  const state = wrapper.generateContextState({ chatHistory: history, ...(functions === undefined ? {} : { availableFunctions: functions, documentFunctionParams: true }) })
  const stopStrings: string[] = []
  const stopTokens = new Set<Token>()
  for (const trigger of state.stopGenerationTriggers) {
    const special = trigger.values.every((v) => v instanceof SpecialToken || v instanceof SpecialTokensText)
    const ids = trigger.tokenize(model.tokenizer)
    if (special && ids.length === 1) { stopTokens.add(ids[0]!); continue }
    // Text triggers (and odd mixed ones) are matched on the detokenized text.
    const text = trigger.values.map((v) => typeof v === 'string' ? v : v instanceof SpecialTokensText ? v.value : '').join('')
    if (text !== '') stopStrings.push(text)
  }
  // Like llama.cpp's own chat path: the model's add-BOS flag applies to the rendered template
  // too (templates rarely write the BOS themselves; never add a second one).
  const tokens = state.contextText.tokenize(model.tokenizer)
  const bos = model.tokens.bos
  if (model.tokens.shouldPrependBosToken && bos !== null && tokens[0] !== bos) tokens.unshift(bos)
  return { tokens, stopStrings, stopTokens, format: wrapper.wrapperName }
}

/** A tool result or arguments as the template shows them: the JSON value when it is JSON. */
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

const badHistory = (message: string): never => {
  throw new InvalidRequestError(`gpu-infer: ${message}`, { code: 'invalid-messages', detail: { param: 'messages' } })
}

/** OpenAI messages with tool calls → node-llama-cpp's history: each call carries its result. */
function toolHistory(messages: readonly CheckedMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = []
  let open: Array<{ id: string; call: ChatModelFunctionCall; answered: boolean }> = []
  for (const [i, m] of messages.entries()) {
    if (m.role === 'tool') {
      const target = open.find((c) => !c.answered && c.id === m.toolCallId) ?? (open.some((c) => c.id === m.toolCallId) ? undefined : open.find((c) => !c.answered && c.id === ''))
      if (target === undefined) badHistory(`messages[${i}] answers no open tool call (tool_call_id "${m.toolCallId ?? ''}")`)
      target!.call.result = jsonOrText(m.content)
      target!.answered = true
      continue
    }
    if (open.some((c) => !c.answered)) badHistory(`messages[${i}]: every tool call needs its tool message first`)
    open = []
    if (m.role === 'assistant') {
      const response: Array<string | ChatModelFunctionCall> = m.content === '' ? [] : [m.content]
      for (const c of m.toolCalls ?? []) {
        const call: ChatModelFunctionCall = { type: 'functionCall', name: c.name, params: jsonOrText(c.arguments), result: undefined }
        response.push(call)
        open.push({ id: c.id, call, answered: false })
      }
      history.push({ type: 'model', response })
    } else history.push(m.role === 'system' ? { type: 'system', text: m.content } : { type: 'user', text: m.content })
  }
  if (open.some((c) => !c.answered)) badHistory('the last tool calls have no tool messages with their results')
  return history
}
