/**
 * @module
 * The engine's work beside generation: tokenize, detokenize (the loaded model's tokenizer, no
 * lane needed) and embeddings (a place in the model's queue, like any request).
 */
import type { Llama } from 'node-llama-cpp'
import { InvalidRequestError } from '../../core/errors.js'
import { LIMITS } from './constants.js'
import { checkEmbedInput, embedTexts } from './engine-embed.js'
import type { SlotManager, LoadedModel } from './engine-slots.js'
import { checkDetokenizeRequest, checkTokenizeRequest, detokenizeWith, pieceOf, tokenizeWith } from './engine-tokens.js'
import type { Engine, EngineProfile } from './engine-types.js'

export interface AuxParts {
  ensureOpen(): void
  slots: SlotManager
  modelName(ref: string | undefined): string
  init(): Promise<{ llama: Llama; profile: EngineProfile }>
  /** The engine's shutdown signal. */
  signal: AbortSignal
  /** Lets close() wait for the work. */
  track(run: Promise<unknown>): void
}

export function auxMethods(parts: AuxParts): Pick<Engine, 'tokenize' | 'detokenize' | 'embed'> {
  const { slots } = parts
  /** A loaded model for work that needs no lane: the tokenizer is synchronous after the load. */
  const loadedModel = async (ref: string | undefined): Promise<LoadedModel> => {
    parts.ensureOpen()
    return (await slots.ensureLoaded(slots.slot(parts.modelName(ref)))).loaded
  }
  return {
    async tokenize(req) {
      checkTokenizeRequest(req)
      const loaded = await loadedModel(req.model)
      const tokens = tokenizeWith(loaded.model, req)
      // One detokenize call per piece, on the event loop: bounded like a detokenize request.
      if (req.withPieces === true && tokens.length > LIMITS.maxDetokenizeTokens) {
        throw new InvalidRequestError(`gpu-infer: with_pieces takes at most ${LIMITS.maxDetokenizeTokens} tokens; this content has ${tokens.length}`, { code: 'content-too-long', detail: { param: 'content' } })
      }
      return { tokens, ...(req.withPieces === true ? { pieces: tokens.map((t) => pieceOf(loaded.model, t)) } : {}), model: loaded.identity }
    },
    async detokenize(req) {
      checkDetokenizeRequest(req)
      const loaded = await loadedModel(req.model)
      return { content: detokenizeWith(loaded.model, req.tokens), model: loaded.identity }
    },
    async embed(req) {
      parts.ensureOpen()
      const texts = checkEmbedInput(req?.input)
      const slot = slots.slot(parts.modelName(req.model))
      const { profile } = await parts.init()
      const signal = req.signal === undefined ? parts.signal : AbortSignal.any([req.signal, parts.signal])
      // A place in the model's queue like any request: embeddings cost a full prompt evaluation.
      const run = slot.queue.run(async () => {
        const { loaded } = await slots.ensureLoaded(slot)
        const out = await embedTexts(loaded.model, texts, {
          contextSize: profile.contextSize, batchSize: profile.batchSize, threads: profile.threads, signal,
          ...(req.dimensions === undefined ? {} : { dimensions: req.dimensions }),
        })
        return { ...out, model: loaded.identity }
      }, { signal })
      parts.track(run)
      return run
    },
  }
}
