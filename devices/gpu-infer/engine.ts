/**
 * @module
 * The inference engine: registered GGUF models served through llama.cpp (node-llama-cpp).
 *
 * Determinism is the product (DESIGN §8). What makes a result reproducible here:
 * - a request runs on one lane of its model (`parallel` lanes, engine-lanes.ts): its own context
 *   (solo), or one sequence of a batched context where batching is proven bit-exact for the
 *   model's weight types and re-checked at load (engine-decode.ts). Either way it computes
 *   exactly what it would alone (llama.cpp's results depend on batch composition otherwise;
 *   research/llama.md §8, research/batch-invariance.md);
 * - every request starts from an empty sequence (its KV cells are freed after each request);
 * - greedy at temperature 0; with temperature > 0 a seed is always used and reported (drawn
 *   here only when the caller gave none);
 * - the runtime profile (backend, llama.cpp build, CPU variant, batch/context size, flash
 *   attention, threads) is exposed so a replay can tell "other profile" from "wrong result";
 * - the model is named by the sha256 of its bytes, re-checked when it is loaded.
 * Timings are reported separately from the result and never influence it.
 */
import { randomInt } from 'node:crypto'
import type { Llama } from 'node-llama-cpp'
import { InvalidRequestError, PayloadTooLargeError, UnavailableError, isAoError } from '../../core/errors.js'
import { ENGINE_DEFAULTS } from './constants.js'
import { checkEngineOptions, describeBackend, startLlama } from './engine-backend.js'
import { generate } from './engine-generate.js'
import { renderChat, renderCompletion } from './engine-prompt.js'
import { checkMessages, checkPrompt, resolveSampler, type ChatRequest, type CompleteRequest, type GenerateParams } from './engine-request.js'
import { boundJsonSchema } from './engine-schema.js'
import { compileJsonGrammar, type JsonGrammar } from './schema-compiler.js'
import { createSlotManager, type LoadedModel, type Slot } from './engine-slots.js'
import type { Lane } from './engine-lanes.js'
import { auxMethods } from './engine-aux.js'
import { availableFunctions, callSyntaxOf, generateTurn, type ToolsRequest, type TurnOutput } from './engine-tools.js'
import type { Engine, EngineOptions, EngineProfile, InferResult, ModelInfo } from './engine-types.js'
import { createModelRegistry, defaultHashCache, type ModelIdentity } from './models.js'

export type * from './engine-types.js'
export type { ChatMessage, ChatRequest, CompleteRequest, GenerateParams, SamplerSettings } from './engine-request.js'

/** True when `p` settles within `ms` (the timer never keeps the process alive). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((r) => { timer = setTimeout(() => r(false), ms); timer.unref() })
  try {
    return await Promise.race([p.then(() => true, () => true), late])
  } finally {
    clearTimeout(timer)
  }
}

export function createEngine(opts: EngineOptions): Engine {
  checkEngineOptions(opts)
  const log = opts.log.child({ component: 'gpu-infer' })
  const limits = {
    defaultMaxTokens: opts.defaultMaxTokens ?? ENGINE_DEFAULTS.defaultMaxTokens,
    maxTokensCap: opts.maxTokensCap ?? ENGINE_DEFAULTS.maxTokensCap,
  }
  const registry = createModelRegistry({ hashCache: opts.hashCache ?? defaultHashCache })
  const shutdown = new AbortController()
  const active = new Set<Promise<unknown>>()
  const grammars = new Map<string, Promise<JsonGrammar>>() // by bounded-schema JSON, small LRU
  let backend: Promise<{ llama: Llama; profile: EngineProfile }> | undefined
  let profile: EngineProfile | undefined
  let closing: Promise<void> | undefined

  const ensureOpen = () => {
    if (closing !== undefined) throw new UnavailableError('gpu-infer: engine is closed', { code: 'engine-closed' })
  }

  const init = () => {
    ensureOpen()
    backend ??= (async () => {
      const llama = await startLlama(opts, log)
      profile = await describeBackend(llama, opts)
      log.info({ profile }, 'gpu-infer: llama.cpp ready')
      return { llama, profile }
    })().catch((err: unknown) => { backend = undefined; throw err })
    return backend
  }

  const slots = createSlotManager({
    llama: init, registry, log, maxQueue: opts.maxQueue,
    memoryBudgetBytes: opts.memoryBudgetBytes ?? ENGINE_DEFAULTS.memoryBudgetBytes,
    initialEstimateSeconds: ENGINE_DEFAULTS.initialRequestSecondsEstimate,
    parallel: opts.parallel ?? 1,
    parallelMode: opts.parallelMode ?? 'auto',
    ...(opts.unsafeLibraryScheduling === true ? { unsafeLibraryScheduling: true } : {}),
  })

  const modelName = (ref: string | undefined): string => {
    if (ref !== undefined) return registry.resolve(ref).name
    const fallback = opts.defaultModel ?? (registry.list().length === 1 ? registry.list()[0]!.name : undefined)
    if (fallback === undefined) throw new InvalidRequestError('gpu-infer: no model given and no default model', { code: 'model-required' })
    return registry.resolve(fallback).name
  }

  const jsonGrammar = (llama: Llama, schema: unknown): Promise<JsonGrammar> => {
    const bounded = boundJsonSchema(schema)
    const key = JSON.stringify(bounded)
    let g = grammars.get(key)
    if (g === undefined) {
      g = compileJsonGrammar(llama, bounded) // off the event loop (schema-compiler.ts)
      g.catch(() => grammars.delete(key))
      grammars.set(key, g)
      if (grammars.size > 32) grammars.delete(grammars.keys().next().value!)
    }
    return g.catch((err: unknown) => {
      if (isAoError(err)) throw err
      throw new InvalidRequestError(`gpu-infer: json-schema cannot be compiled: ${(err as Error).message}`, { code: 'invalid-json-schema', cause: err })
    })
  }

  type Prompt = { kind: 'text'; prompt: string } | { kind: 'chat'; messages: ReturnType<typeof checkMessages>; tools?: ToolsRequest }

  const infer = async (params: GenerateParams, prompt: Prompt): Promise<InferResult> => {
    ensureOpen()
    const began = performance.now()
    const sampler = resolveSampler(params, limits)
    const slot: Slot = slots.slot(modelName(params.model))
    const { llama } = await init()
    const grammar = params.jsonSchema === undefined ? undefined : await jsonGrammar(llama, params.jsonSchema)
    const signal = params.signal === undefined ? shutdown.signal : AbortSignal.any([params.signal, shutdown.signal])
    // Greedy draws no random number: its seed is null, so equal computations record equally.
    const seed = sampler.temperature > 0 ? sampler.seed ?? randomInt(0, 2 ** 32) : null
    const { stop, ...settings } = sampler
    const samplerOut = { ...settings, seed }

    const task = async (): Promise<InferResult> => {
      const queueMs = performance.now() - began
      const { loaded, loadMs } = await slots.ensureLoaded(slot)
      const lane = loaded.pool.take()
      try {
        return await runOnLane(loaded, lane, queueMs, loadMs)
      } finally {
        loaded.pool.give(lane)
      }
    }

    const runOnLane = async (loaded: LoadedModel, lane: Lane, queueMs: number, loadMs: number): Promise<InferResult> => {
      const { model } = loaded
      const { context } = lane
      const tools = prompt.kind === 'chat' ? prompt.tools : undefined
      const rendered = prompt.kind === 'text' ? renderCompletion(model, prompt.prompt)
        : renderChat(model, loaded.wrapper, prompt.messages, tools === undefined ? undefined : availableFunctions(tools))
      const promptTokens = rendered.tokens.length
      if (promptTokens >= context.contextSize) {
        throw new PayloadTooLargeError(`gpu-infer: prompt is ${promptTokens} tokens; the context holds ${context.contextSize}`, {
          code: 'prompt-too-long', detail: { promptTokens, contextSize: context.contextSize },
        })
      }
      const maxTokens = Math.min(sampler.maxTokens, context.contextSize - promptTokens)
      const evalStart = performance.now()
      const sequence = lane.open()
      let gen
      try {
        const common = {
          model, sequence, prompt: rendered, maxTokens, stop, signal, sampler: samplerOut,
          ...(lane.evaluationPriority === undefined ? {} : { evaluationPriority: lane.evaluationPriority }),
          ...(params.onToken === undefined ? {} : { onToken: params.onToken }),
          ...(params.logprobs === undefined ? {} : { logprobs: params.logprobs }),
        }
        gen = tools === undefined
          ? await generate({ ...common, ...(grammar === undefined ? {} : { grammar: grammar.sample, grammarStops: ['\n\n\n\n'], trimEnd: true }) })
          : await generateTurn({
            ...common, tools, syntax: callSyntaxOf(loaded.wrapper),
            createGrammar: (gbnf) => llama.createGrammar({ grammar: gbnf }),
            argumentsGrammar: (name) => jsonGrammar(llama, tools.tools.find((t) => t.name === name)!.parameters),
          })
      } finally {
        await lane.close(sequence) // frees the KV cells: the next request starts from nothing
      }
      if (gen.sinkError !== undefined) log.warn({ err: String(gen.sinkError) }, 'gpu-infer: onToken threw; generation stopped')
      let json: unknown
      let jsonOk = false
      if (grammar !== undefined && gen.finishReason === 'stop') {
        try { json = grammar.check.parse(gen.output); jsonOk = true } catch (err) {
          log.warn({ err: String(err) }, 'gpu-infer: constrained output did not validate')
        }
      }
      const firstTokenAt = gen.firstTokenAt ?? gen.endedAt
      const n = gen.tokens.length
      return {
        output: gen.output,
        finishReason: gen.finishReason,
        usage: { promptTokens, completionTokens: n, totalTokens: promptTokens + n },
        timings: {
          queueMs, loadMs,
          firstTokenMs: firstTokenAt - evalStart,
          totalMs: performance.now() - began,
          tokensPerSecond: n > 1 && gen.endedAt > firstTokenAt ? (n - 1) / ((gen.endedAt - firstTokenAt) / 1000) : 0,
        },
        model: loaded.identity,
        sampler: samplerOut,
        tokens: gen.tokens,
        promptFormat: rendered.format,
        decodePath: loaded.decode.path,
        ...(gen.stopSequence === undefined ? {} : { stopSequence: gen.stopSequence }),
        ...(jsonOk ? { json } : {}),
        ...(gen.logprobs === undefined ? {} : { logprobs: gen.logprobs }),
        ...('calls' in gen && (gen as TurnOutput).calls.length > 0 ? { toolCalls: (gen as TurnOutput).calls } : {}),
      }
    }

    const run = slot.queue.run(task, { signal }).catch((err: unknown) => {
      // Aborted while waiting: an empty, aborted result (no tokens were evaluated).
      if (!signal.aborted || isAoError(err)) throw err
      if (closing !== undefined) throw new UnavailableError('gpu-infer: engine is closed', { code: 'engine-closed' })
      const ms = performance.now() - began
      return {
        output: '', finishReason: 'abort', usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
        timings: { queueMs: ms, loadMs: 0, firstTokenMs: 0, totalMs: ms, tokensPerSecond: 0 },
        model: identity(slot.name), sampler: samplerOut, tokens: [], promptFormat: prompt.kind,
      } satisfies InferResult
    })
    active.add(run)
    run.finally(() => active.delete(run)).catch(() => {})
    return run
  }

  // Identity only: a model's path never leaves the engine.
  const identity = (name: string): ModelIdentity => {
    const rec = registry.resolve(name)
    return { name: rec.name, sha256: rec.sha256, bytes: rec.bytes }
  }
  const info = (name: string): ModelInfo => {
    const loaded = slots.slot(name).loaded
    if (loaded === undefined) return { ...identity(name), loaded: false }
    const { batches, items } = loaded.lanes.decodes
    return {
      ...identity(name), loaded: true,
      decode: { ...loaded.decode, samplingOverlaps: loaded.lanes.sampling.overlaps, meanDecodeBatch: batches === 0 ? 0 : items / batches },
    }
  }

  const aux = auxMethods({ ensureOpen, slots, modelName, init, signal: shutdown.signal, track: (p) => { active.add(p); p.finally(() => active.delete(p)).catch(() => {}) } })

  return {
    init: async () => (await init()).profile,
    profile() {
      if (profile === undefined) throw new UnavailableError('gpu-infer: engine not initialised (call init())', { code: 'engine-not-ready' })
      return profile
    },
    async addModel(name, path) {
      ensureOpen()
      await registry.add(name, path)
      slots.slot(name)
      return info(name)
    },
    async preload(ref, preloadOpts = {}) {
      ensureOpen()
      const slot = slots.slot(modelName(ref))
      await slots.ensureLoaded(slot, preloadOpts.onProgress)
      return info(slot.name)
    },
    async unload(ref) {
      const slot = slots.slot(modelName(ref))
      if (slot.queue.busy) return false
      return slots.unload(slot)
    },
    listModels: () => registry.list().map((r) => info(r.name)),
    resolveModel: (ref) => identity(modelName(ref)),
    complete: async (req: CompleteRequest) => infer(req, { kind: 'text', prompt: checkPrompt(req?.prompt) }),
    chat: async (req: ChatRequest) => {
      if (req?.tools !== undefined && req.jsonSchema !== undefined) {
        throw new InvalidRequestError('gpu-infer: tools and a json-schema cannot be combined', { code: 'invalid-tools', detail: { param: 'response_format' } })
      }
      return infer(req, { kind: 'chat', messages: checkMessages(req?.messages), ...(req?.tools === undefined ? {} : { tools: req.tools }) })
    },
    ...aux,
    stats: () => slots.all().map((s) => ({ name: s.name, loaded: s.loaded !== undefined, running: s.queue.running, waiting: s.queue.waiting })),
    close() {
      closing ??= (async () => {
        const closed = new UnavailableError('gpu-infer: engine is closed', { code: 'engine-closed' })
        for (const s of slots.all()) s.queue.drain(closed)
        shutdown.abort(closed) // running generations stop at their next token
        await Promise.allSettled([...active])
        for (const s of slots.all()) {
          await s.loading?.catch(() => {})
          await slots.unload(s)
        }
        const b = await backend?.catch(() => undefined)
        if (b !== undefined && !(await settlesWithin(b.llama.dispose(), ENGINE_DEFAULTS.disposeTimeoutMs))) {
          log.warn({ ms: ENGINE_DEFAULTS.disposeTimeoutMs }, 'gpu-infer: llama.cpp did not release in time (a failed model load leaks a handle); closing anyway')
        }
        log.info('gpu-infer: engine closed')
      })()
      return closing
    },
  }
}
