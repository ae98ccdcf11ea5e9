/**
 * @module
 * The generation loop: one request, one context sequence, token by token.
 *
 * We drive `sequence.evaluate` ourselves (not LlamaCompletion/LlamaChat) so the computation is
 * exactly: these prompt ids, this sampler, these stop rules — nothing added (research/llama.md
 * §5). Text handling that the loop owns:
 * - byte tokens can split a UTF-8 character; a piece that decodes to U+FFFD waits (up to 4
 *   tokens) for the rest, and pieces decode with the preceding tokens as context so
 *   SentencePiece spaces come out right: `prompt + output` reads as one text;
 * - stop sequences are found in the decoded text; the streamed text holds back any tail that
 *   could still become a stop sequence, so a client never sees stop text it must retract.
 *   Everything streamed through onToken, concatenated, equals `output`.
 * The caller owns the sequence (and frees it in a finally), whatever happens here.
 */
import { LlamaGrammarEvaluationState, type EvaluationPriority, type LlamaContextSequence, type LlamaGrammar, type LlamaModel, type Token } from 'node-llama-cpp'
import { REPEAT_PENALTY_LAST_TOKENS, REPLACEMENT_CHAR } from './constants.js'
import type { RenderedPrompt } from './engine-prompt.js'
import { pieceOf } from './engine-tokens.js'

/** A chosen token's log-probability and its most likely alternatives, from the step that chose it. */
export interface TokenLogprob {
  token: number
  text: string
  logprob: number
  top: Array<{ token: number; text: string; logprob: number }>
}

/** What OpenAI reports for a probability too small to represent (log(0)). */
const LOGPROB_FLOOR = -9999

/**
 * Log-probabilities of one sampling step. `probabilities` is the distribution llama.cpp sampled
 * from at that step (sorted, most likely first): the full softmax when greedy, the candidates
 * left after top-k/top-p/min-p and temperature when sampling, grammar-masked in JSON mode.
 */
function stepLogprobs(model: LlamaModel, token: Token, probabilities: ReadonlyMap<Token, number>, topCount: number): TokenLogprob {
  const log = (p: number) => (p > 0 ? Math.max(Math.log(p), LOGPROB_FLOOR) : LOGPROB_FLOOR)
  const top: TokenLogprob['top'] = []
  for (const [t, p] of probabilities) {
    if (top.length >= topCount || !(p > 0)) break
    top.push({ token: t, text: pieceOf(model, t), logprob: log(p) })
  }
  return { token, text: pieceOf(model, token), logprob: log(probabilities.get(token) ?? 0), top }
}

export type FinishReason = 'stop' | 'length' | 'abort'

export interface GenerateInput {
  model: LlamaModel
  sequence: LlamaContextSequence
  prompt: RenderedPrompt
  sampler: { temperature: number; topK: number; topP: number; minP: number; repeatPenalty: number; seed: number | null }
  /** Already clamped to what the context can hold. */
  maxTokens: number
  /** The request's stop sequences (reported back when one matches). */
  stop: readonly string[]
  grammar?: LlamaGrammar
  /** Stops that belong to the grammar (JSON mode ends with blank lines). */
  grammarStops?: readonly string[]
  /** JSON mode: trailing whitespace is never part of the output. */
  trimEnd?: boolean
  signal: AbortSignal
  onToken?: (text: string, logprobs?: TokenLogprob[]) => void
  /** Record each chosen token's logprob and this many alternatives (0–20); absent = none. */
  logprobs?: number
  /** The lane's tag in a batched context (engine-lanes.ts). */
  evaluationPriority?: EvaluationPriority
}

export interface GenerateOutput {
  output: string
  tokens: Token[]
  finishReason: FinishReason
  /** The request stop sequence that ended generation, if one did. */
  stopSequence?: string
  /** Any stop string that ended generation (the request's, the template's or a grammar stop). */
  matchedStop?: string
  /** performance.now() of the first sampled token (undefined if none was). */
  firstTokenAt?: number
  endedAt: number
  /** Set when onToken threw: generation stopped as if aborted. */
  sinkError?: unknown
  /** One per generated token, when asked for. */
  logprobs?: TokenLogprob[]
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
function heldBackLength(text: string, stops: readonly string[]): number {
  let held = 0
  for (const s of stops) {
    for (let n = Math.min(s.length - 1, text.length); n > held; n--) {
      if (text.endsWith(s.slice(0, n))) { held = n; break }
    }
  }
  return held
}

export async function generate(input: GenerateInput): Promise<GenerateOutput> {
  const { model, sequence, prompt, sampler, signal } = input
  const allStops = [...input.stop, ...prompt.stopStrings, ...(input.grammarStops ?? [])]
  const longestStop = allStops.reduce((n, s) => Math.max(n, s.length), 0)
  const grammarEvaluationState = input.grammar === undefined ? undefined : new LlamaGrammarEvaluationState({ model, grammar: input.grammar })
  const generated: Token[] = []
  let pending: Token[] = []
  let text = ''
  let emitted = 0
  let finishReason: FinishReason = 'stop'
  let stopSequence: string | undefined
  let matchedStop: string | undefined
  let firstTokenAt: number | undefined
  let sinkError: unknown
  const logprobs: TokenLogprob[] | undefined = input.logprobs === undefined ? undefined : []
  let logprobsSent = 0

  // Streamed logprobs travel with the text they belong to; the last call flushes the rest.
  const emit = (upTo: number, last = false) => {
    const pendingLogprobs = logprobs !== undefined && logprobs.length > logprobsSent
    if ((upTo <= emitted && !(last && pendingLogprobs)) || input.onToken === undefined || sinkError !== undefined) return
    const chunk = text.slice(emitted, Math.max(upTo, emitted))
    emitted = Math.max(upTo, emitted)
    const entries = logprobs?.slice(logprobsSent)
    logprobsSent = logprobs?.length ?? 0
    try { input.onToken(chunk, entries) } catch (err) { sinkError = err }
  }
  // Earliest stop occurrence; only the tail that new text could complete needs searching.
  const findStop = (from: number): { at: number; stop: string } | undefined => {
    let best: { at: number; stop: string } | undefined
    for (const s of allStops) {
      const at = text.indexOf(s, from)
      if (at >= 0 && (best === undefined || at < best.at)) best = { at, stop: s }
    }
    return best
  }

  // The 16 tokens before the last `n` generated ones: detokenizer context for spaces.
  const contextBefore = (n: number): Token[] => {
    const end = generated.length - n
    const tail = generated.slice(Math.max(0, end - 16), end)
    return tail.length >= 16 ? tail : [...prompt.tokens.slice(-(16 - tail.length)), ...tail]
  }

  // Aborted while the model loaded: do not evaluate the prompt at all.
  if (signal.aborted) return { output: '', tokens: [], finishReason: 'abort', endedAt: performance.now() }

  const options = {
    temperature: sampler.temperature,
    topK: sampler.topK,
    topP: sampler.topP,
    minP: sampler.minP,
    // Greedy never draws a random number; a fixed 0 keeps node-llama-cpp off the clock seed.
    seed: sampler.seed ?? 0,
    ...(sampler.repeatPenalty === 1 ? {} : {
      repeatPenalty: {
        punishTokens: () => generated.slice(-REPEAT_PENALTY_LAST_TOKENS),
        maxPunishTokens: REPEAT_PENALTY_LAST_TOKENS,
        penalty: sampler.repeatPenalty,
      },
    }),
    ...(grammarEvaluationState === undefined ? {} : { grammarEvaluationState }),
    yieldEogToken: false,
    ...(input.evaluationPriority === undefined ? {} : { evaluationPriority: input.evaluationPriority }),
  } as const
  // With logprobs, the probabilities come from the very sampling step that chose each token.
  const evaluation = logprobs === undefined
    ? sequence.evaluate(prompt.tokens, options)
    : sequence.evaluateWithMetadata(prompt.tokens, { probabilities: true }, options)

  for await (const item of evaluation) {
    const token = typeof item === 'number' ? item : item.token
    firstTokenAt ??= performance.now()
    if (prompt.stopTokens.has(token)) break
    if (logprobs !== undefined && typeof item !== 'number') logprobs.push(stepLogprobs(model, token, item.probabilities!, input.logprobs!))
    generated.push(token)
    pending.push(token)
    const piece = model.detokenize(pending, false, contextBefore(pending.length))
    if (!(piece.endsWith(REPLACEMENT_CHAR) && pending.length < 4)) {
      const searchFrom = Math.max(0, text.length - longestStop + 1)
      text += piece
      pending = []
      const hit = allStops.length > 0 ? findStop(searchFrom) : undefined
      if (hit !== undefined) {
        text = text.slice(0, hit.at)
        if (input.stop.includes(hit.stop)) stopSequence = hit.stop
        matchedStop = hit.stop
        break
      }
      let safe = text.length - heldBackLength(text, allStops)
      if (input.trimEnd === true) safe = Math.min(safe, text.trimEnd().length)
      emit(safe)
    }
    if (sinkError !== undefined || signal.aborted) { finishReason = 'abort'; break }
    if (generated.length >= input.maxTokens) { finishReason = 'length'; break }
  }
  // Leftover bytes of an unfinished character are part of the output (as U+FFFD), not dropped.
  if (pending.length > 0) text += model.detokenize(pending, false, contextBefore(pending.length))
  if (input.trimEnd === true) text = text.trimEnd()
  emit(text.length, true)
  return {
    output: text,
    tokens: generated,
    finishReason,
    ...(stopSequence === undefined ? {} : { stopSequence }),
    ...(matchedStop === undefined ? {} : { matchedStop }),
    ...(firstTokenAt === undefined ? {} : { firstTokenAt }),
    endedAt: performance.now(),
    ...(sinkError === undefined ? {} : { sinkError }),
    ...(logprobs === undefined ? {} : { logprobs }),
  }
}
