/**
 * @module
 * Embeddings: the model's own embedding output, one vector per input text.
 *
 * node-llama-cpp's embedding context evaluates the text (BOS first, and EOS where the model asks
 * for it) and reads llama.cpp's embedding: pooled as the GGUF says (`<arch>.pooling_type`), or,
 * for a generative model with no pooling (our generated models, most chat models), the hidden
 * state of the last token after the output norm. We L2-normalize it, like OpenAI's embeddings,
 * in float64 in a fixed order, so equal inputs give equal bits. The context is created per
 * request with the profile's batch size, threads and flash attention (pinned at model load),
 * and disposed after: the same numerics as a replay on the same profile.
 */
import type { LlamaModel, Token } from 'node-llama-cpp'
import { InvalidRequestError, PayloadTooLargeError } from '../../core/errors.js'
import { LIMITS } from './constants.js'

export interface EmbedRequest {
  model?: string
  /** The texts to embed (a string counts as a list of one). */
  input: string | readonly string[]
  /** Refused unless it equals the model's embedding length (no model here is trained to truncate). */
  dimensions?: number
  signal?: AbortSignal
}

export interface EmbedResult {
  vectors: number[][]
  /** Tokens evaluated, over all inputs. */
  promptTokens: number
  dimensions: number
}

const bad = (code: string, message: string, param = 'input'): never => {
  throw new InvalidRequestError(`gpu-infer: ${message}`, { code, detail: { param } })
}

/** Checks the inputs before anything is loaded; returns them as a list. */
export function checkEmbedInput(input: unknown): string[] {
  const list = typeof input === 'string' ? [input] : input
  if (!Array.isArray(list) || list.length === 0) return bad('invalid-input', 'input must be a string or a non-empty list of strings')
  if (list.length > LIMITS.maxEmbedInputs) bad('invalid-input', `at most ${LIMITS.maxEmbedInputs} inputs`)
  let bytes = 0
  for (const [i, text] of list.entries()) {
    if (typeof text !== 'string') return bad('invalid-input', `input[${i}] must be a string (token-id input is not supported)`)
    if (text === '') bad('invalid-input', `input[${i}] is empty`)
    bytes += Buffer.byteLength(text)
  }
  if (bytes > LIMITS.maxTokenizeBytes) bad('input-too-long', `inputs are longer than ${LIMITS.maxTokenizeBytes} bytes together`)
  return list as string[]
}

/** L2-normalized, summed in index order (a fixed order: the same bits every time). */
function normalize(vector: readonly number[]): number[] {
  let sum = 0
  for (const x of vector) sum += x * x
  const norm = Math.sqrt(sum)
  return norm === 0 ? [...vector] : vector.map((x) => x / norm)
}

export async function embedTexts(
  model: LlamaModel,
  texts: readonly string[],
  opts: { contextSize: number; batchSize: number; threads: number; dimensions?: number; signal?: AbortSignal },
): Promise<EmbedResult> {
  const length = model.embeddingVectorSize
  if (opts.dimensions !== undefined && opts.dimensions !== length) {
    bad('unsupported-parameter', `dimensions must be the model's embedding length (${length}); it cannot be shortened`, 'dimensions')
  }
  const bos = model.tokens.bos
  const tokenLists = texts.map((text) => {
    // Text only (no special-token parsing): a user typing `</s>` embeds the characters.
    const tokens: Token[] = model.tokenize(text, false)
    if (bos !== null && model.tokens.shouldPrependBosToken) tokens.unshift(bos)
    return tokens
  })
  for (const [i, tokens] of tokenLists.entries()) {
    // +1: the EOS some models append.
    if (tokens.length + 1 >= opts.contextSize) {
      throw new PayloadTooLargeError(`gpu-infer: input[${i}] is ${tokens.length} tokens; the context holds ${opts.contextSize}`, {
        code: 'prompt-too-long', detail: { param: 'input', promptTokens: tokens.length, contextSize: opts.contextSize },
      })
    }
  }
  const context = await model.createEmbeddingContext({ contextSize: opts.contextSize, batchSize: opts.batchSize, threads: opts.threads })
  try {
    const vectors: number[][] = []
    for (const tokens of tokenLists) {
      opts.signal?.throwIfAborted()
      const embedding = await context.getEmbeddingFor(tokens)
      vectors.push(normalize(embedding.vector))
    }
    return { vectors, promptTokens: tokenLists.reduce((n, t) => n + t.length, 0), dimensions: length }
  } finally {
    await context.dispose()
  }
}
