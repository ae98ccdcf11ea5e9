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
import { resolveChatWrapper, SpecialToken, SpecialTokensText, type ChatHistoryItem, type ChatWrapper, type LlamaModel, type Token } from 'node-llama-cpp'
import type { Logger } from '../../core/types.js'
import { CHAT_ROLES, FALLBACK_ASSISTANT_PREFIX, FALLBACK_TURN_SEPARATOR } from './constants.js'
import type { ChatRole } from './engine-request.js'

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
  messages: ReadonlyArray<{ role: ChatRole; content: string }>,
): RenderedPrompt {
  if (wrapper === null) {
    const text = messages.map((m) => `${m.role}: ${m.content}`).join(FALLBACK_TURN_SEPARATOR) +
      FALLBACK_TURN_SEPARATOR + FALLBACK_ASSISTANT_PREFIX
    const rendered = renderCompletion(model, text)
    return { ...rendered, stopStrings: CHAT_ROLES.map((r) => `${FALLBACK_TURN_SEPARATOR}${r}:`), format: 'fallback' }
  }
  const history: ChatHistoryItem[] = messages.map((m) =>
    m.role === 'assistant' ? { type: 'model', response: [m.content] }
      : m.role === 'system' ? { type: 'system', text: m.content }
        : { type: 'user', text: m.content })
  history.push({ type: 'model', response: [] })
  const state = wrapper.generateContextState({ chatHistory: history })
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
