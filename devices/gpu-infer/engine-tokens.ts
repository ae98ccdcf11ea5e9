/**
 * @module
 * Tokenize and detokenize with a loaded model's own tokenizer, in llama-server's terms
 * (`add_special`, `parse_special`, `with_pieces`), and the per-token text that logprobs report.
 *
 * Both run on the event loop (llama.cpp's tokenizer is synchronous), so both are bounded before
 * they touch it: text by LIMITS.maxTokenizeBytes, id lists by LIMITS.maxDetokenizeTokens. Every
 * id is checked against the vocabulary first: llama.cpp aborts the whole process on an id past
 * its end (research/llama.md §4).
 */
import type { LlamaModel, Token } from 'node-llama-cpp'
import { InvalidRequestError } from '../../core/errors.js'
import { LIMITS } from './constants.js'

export interface TokenizeRequest {
  model?: string
  content: string
  /** Prepend BOS when the model asks for it (llama-server's `add_special`; default false). */
  addSpecial?: boolean
  /** Text like `<|im_end|>` becomes its control token (llama-server's `parse_special`; default true). */
  parseSpecial?: boolean
}

export interface DetokenizeRequest {
  model?: string
  tokens: readonly number[]
}

const bad = (code: string, param: string, message: string): never => {
  throw new InvalidRequestError(`gpu-infer: ${message}`, { code, detail: { param } })
}

/** Checks a tokenize request before the model is loaded. */
export function checkTokenizeRequest(req: TokenizeRequest): void {
  if (typeof req.content !== 'string') bad('invalid-content', 'content', 'content must be a string')
  if (Buffer.byteLength(req.content) > LIMITS.maxTokenizeBytes) bad('content-too-long', 'content', `content is longer than ${LIMITS.maxTokenizeBytes} bytes`)
}

/** Checks the shape of a detokenize request (the vocabulary bound needs the model: `checkIds`). */
export function checkDetokenizeRequest(req: DetokenizeRequest): void {
  const ids = req.tokens
  if (!Array.isArray(ids)) bad('invalid-tokens', 'tokens', 'tokens must be a list of token ids')
  if (ids.length > LIMITS.maxDetokenizeTokens) bad('invalid-tokens', 'tokens', `at most ${LIMITS.maxDetokenizeTokens} tokens`)
  if (!ids.every((t) => Number.isInteger(t) && t >= 0)) bad('invalid-tokens', 'tokens', 'tokens must be integers >= 0')
}

export function tokenizeWith(model: LlamaModel, req: TokenizeRequest): Token[] {
  const tokens = model.tokenize(req.content, req.parseSpecial ?? true)
  const bos = model.tokens.bos
  if (req.addSpecial === true && model.tokens.shouldPrependBosToken && bos !== null && tokens[0] !== bos) tokens.unshift(bos)
  return tokens
}

export function detokenizeWith(model: LlamaModel, tokens: readonly number[]): string {
  const vocab = vocabularySize(model)
  const past = tokens.find((t) => t >= vocab)
  if (past !== undefined) bad('invalid-tokens', 'tokens', `token ${past} is past the vocabulary (${vocab} tokens)`)
  return model.detokenize(tokens as Token[], true)
}

/** Tokens in the vocabulary: rows of the embedding matrix (the token list when tensors were not read). */
export function vocabularySize(model: LlamaModel): number {
  const embd = model.fileInfo.tensorInfo?.find((t) => t.name === 'token_embd.weight')
  const rows = embd?.dimensions[1]
  if (rows !== undefined) return Number(rows)
  const list = (model.fileInfo.metadata.tokenizer as { ggml?: { tokens?: readonly unknown[] } } | undefined)?.ggml?.tokens
  return list?.length ?? 0
}

/** The text of one token as a client sees it in logprobs and `with_pieces` (special tokens spelled out). */
export function pieceOf(model: LlamaModel, token: Token): string {
  return model.detokenize([token], true)
}
