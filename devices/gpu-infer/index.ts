/**
 * @packageDocumentation
 * Folder: one device (its index.ts is its only door). May import: core/, identity/, this folder,
 * another device only through its index.ts, the libraries it needs; never node/ (eslint/boundaries.js).
 *
 * `gpu-infer@1.0`: deterministic, replayable LLM inference on llama.cpp (node-llama-cpp), on a
 * GPU when one is present. A result holds only what the computation determines — output,
 * finish reason, usage, the model's identity and the runtime profile — so the same request gives
 * the same result ID and hashpath on any node with the same profile. Timings go to response
 * headers (`hashbeam-timing-*`) and logs, never into the result.
 *
 * @example
 * ```sh
 * curl 'localhost:8734/~gpu-infer@1.0/run&prompt=hello&max-tokens+integer=16'
 * curl 'localhost:8734/~gpu-infer/run&prompt=hello&stream=true'          # SSE, newest version
 * curl localhost:8734/~gpu-infer@1.0/v1/chat/completions -H 'content-type: application/json' \
 *      -d '{"model":"demo","messages":[{"role":"user","content":"hi"}]}'
 * ```
 */
import { RequestAbortedError } from '../../core/errors.js'
import { idOf } from '../../core/id.js'
import type { Device, Logger, Message, ResolveContext } from '../../core/types.js'
import type { Hono } from 'hono'
import { createEngine, type Engine, type EngineProfile, type InferResult } from './engine.js'
import type { EngineOptions } from './engine-types.js'
import type { TokenLogprob } from './engine-generate.js'
import { detokenizeParams, embedParams, generateParams, messagesOf, promptOf, tokenizeParams, toolsOf } from './device-request.js'
import { mountOpenAi } from './openai.js'
import { OPENAI_DEFAULTS } from './constants.js'
import { createStoredModels, type StoredModelSource } from './stored-models.js'
import { devicePool, type PoolInit } from './dispatch-device.js'
import { testFaulter, type FaultAt } from './test-fault.js'

export { createEngine, type Engine, type GenerateParams, type InferResult } from './engine.js'
export type { EngineOptions } from './engine-types.js'
export { generateGguf, writeGguf, GGUF_QUANTS, type GgufQuant, type GgufSize } from './gguf.js'
export { createHashCache, sha256File, type HashCache } from './models.js'
export { DEMO_MODEL_NAME, ensureDemoModel, fileHashCache, parseModelFlags, scanModelsDir } from './model-files.js'
export { checkJsonSchemaText } from './engine-schema.js'
export { CHATML_TOOLS_TEMPLATE, OPENAI_DEFAULTS } from './constants.js'
export { DEFAULT_POOL_LEASE_MS, type PoolInit } from './dispatch-device.js'

export const GPU_INFER_DEVICE_NAME = 'gpu-infer@1.0'

export interface GpuInferInit {
  /**
   * An engine the caller owns (tests), or the options of the one the device creates on first use
   * (start with --preload, or the first request) and closes in `stop`.
   */
  readonly engine: Engine | EngineOptions
  /** Wraps the engine the device creates (the node's metrics and traces); identity when absent. */
  readonly observe?: (engine: Engine) => Engine
  /** Models to register at start: name → path. */
  readonly models?: Readonly<Record<string, string>>
  /** Load these models at start instead of on first use. */
  readonly preload?: readonly string[]
  /** Where GGUFs put into the store are found (`model=<sha256>`); absent = names only. */
  readonly storedModels?: StoredModelSource
  /** Load progress of preloaded models (the CLI draws a bar on a terminal). */
  readonly onLoadProgress?: (model: string, fraction: number) => void
  /** For the OpenAI routes' failures; silent when absent. */
  readonly log?: Logger
  /** Most choices (`n`) one OpenAI request may ask for (default OPENAI_DEFAULTS.maxChoices). */
  readonly maxChoices?: number
  /** The inference pool (dispatch-device.ts): hand runs to it, serve its jobs, or both. */
  readonly pool?: PoolInit
  /** TEST ONLY (test-fault.ts): change one output character of every N-th result… */
  readonly testFaultEvery?: number
  /** …its last (default) or its first, streamed tokens included. */
  readonly testFaultAt?: FaultAt
}

/** The sampler slot of a profile that samples nothing (embeddings, the `profile` key). */
const NO_SAMPLER: InferResult['sampler'] = { temperature: 0, topK: 0, topP: 1, minP: 0, repeatPenalty: 1, maxTokens: 0, seed: null }

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => SILENT }

/** gpu-infer@1.0 with what the node reads from it: the engine's queues (metrics), the llama.cpp in use (measurement). */
export interface GpuInferDevice extends Device {
  /** Per-model queue numbers; empty before the engine exists. */
  engineStats(): ReturnType<Engine['stats']>
  /** The inference pool's numbers per model (empty off the pool), for the router's heartbeat. */
  poolLoad(): Readonly<Record<string, Readonly<Record<string, number>>>>
  /** Loads llama.cpp (once) and names the runtime in use. */
  runtime(): Promise<EngineProfile>
}

const isEngine = (e: Engine | EngineOptions): e is Engine => typeof (e as Engine).init === 'function'

/** The profile as it enters a result: every field that can change numerics. */
export function profileMessage(profile: EngineProfile, sampler: InferResult['sampler']): Message {
  return {
    backend: profile.backend,
    'llama-cpp-build': profile.llamaCppBuild,
    'node-llama-cpp': profile.nodeLlamaCpp,
    binary: profile.binary,
    'cpu-variant': profile.cpuVariant,
    gpu: profile.gpu,
    'gpu-layers': profile.gpuLayers,
    threads: profile.threads,
    'batch-size': profile.batchSize,
    'context-size': profile.contextSize,
    'flash-attention': profile.flashAttention,
    'sequences-per-context': profile.sequencesPerContext,
    sampler: {
      temperature: sampler.temperature, 'top-k': sampler.topK, 'top-p': sampler.topP, 'min-p': sampler.minP,
      'repeat-penalty': sampler.repeatPenalty, 'max-tokens': sampler.maxTokens,
    },
    seed: sampler.seed,
  }
}

/** One token's logprob as it enters a result (and a streamed token event). */
export function logprobMessage(entry: TokenLogprob): Message {
  return { token: entry.token, text: entry.text, logprob: entry.logprob, top: entry.top.map((t) => ({ token: t.token, text: t.text, logprob: t.logprob })) }
}

/** The deterministic result message of one inference. */
export function resultMessage(result: InferResult, profile: EngineProfile): Message {
  const prof = profileMessage(profile, result.sampler)
  return {
    output: result.output,
    'finish-reason': result.finishReason,
    usage: { 'prompt-tokens': result.usage.promptTokens, 'completion-tokens': result.usage.completionTokens, 'total-tokens': result.usage.totalTokens },
    model: { name: result.model.name, sha256: result.model.sha256, bytes: result.model.bytes },
    profile: prof,
    'profile-id': idOf(prof),
    ...(result.logprobs === undefined ? {} : { logprobs: result.logprobs.map(logprobMessage) }),
  }
}

const withTools = (req: Message) => {
  const tools = toolsOf(req)
  return tools === undefined ? {} : { tools }
}

function reportTimings(ctx: ResolveContext, result: InferResult): void {
  const t = result.timings
  ctx.meta.set('timing-queue-ms', t.queueMs.toFixed(1))
  ctx.meta.set('timing-load-ms', t.loadMs.toFixed(1))
  ctx.meta.set('timing-first-token-ms', t.firstTokenMs.toFixed(1))
  ctx.meta.set('timing-total-ms', t.totalMs.toFixed(1))
  ctx.meta.set('tokens-per-second', t.tokensPerSecond.toFixed(1))
  // Which path ran is the node's business, not the computation's: a header, never the result.
  if (result.decodePath !== undefined) ctx.meta.set('decode-path', result.decodePath)
  ctx.log.info({ model: result.model.name, usage: result.usage, timings: t, finish: result.finishReason }, 'gpu-infer: done')
}

export function gpuInferDevice(init: GpuInferInit): GpuInferDevice {
  const given = isEngine(init.engine) ? init.engine : undefined
  let current = given
  /** The engine, created from the options on first use; a stopped device makes a fresh one. */
  const engineNow = (): Engine => {
    if (current === undefined) {
      const created = createEngine(init.engine as EngineOptions)
      current = init.observe === undefined ? created : init.observe(created)
    }
    return current
  }
  const storedSource = init.storedModels
  let stored: ReturnType<typeof createStoredModels> | undefined
  const storedModels = storedSource === undefined ? undefined : {
    resolve: (model: string) => (stored ??= createStoredModels(engineNow(), storedSource)).resolve(model),
  }
  let started: Promise<void> | undefined
  const pool = devicePool(init.pool, {
    ready: () => ready(), modelNames: () => engineNow().listModels().map((m) => m.name), localStats: () => current?.stats() ?? [],
  }, init.log ?? SILENT)
  const faulter = init.testFaultEvery === undefined ? undefined : testFaulter(init.testFaultEvery, init.testFaultAt ?? 'last')

  async function infer(kind: 'run' | 'chat', base: Message, req: Message, ctx: ResolveContext): Promise<Message> {
    if (pool.dispatcher !== undefined) {
      // Refused here, not by a worker: a bad request costs no queue slot.
      generateParams(req)
      if (kind === 'chat') messagesOf(req)
      return pool.dispatcher.infer(base, req, ctx)
    }
    await ready()
    const engine = engineNow()
    const params = generateParams(req)
    if (params.model !== undefined && storedModels !== undefined) params.model = await storedModels.resolve(params.model)
    const streamToken = ctx.stream === undefined ? undefined
      : (text: string, logprobs?: TokenLogprob[]) => ctx.stream?.write('token', { text, ...(logprobs === undefined ? {} : { logprobs: logprobs.map(logprobMessage) }) })
    const fault = faulter?.begin(streamToken)
    const onToken = fault === undefined ? streamToken : fault.onToken
    const common = { ...params, signal: ctx.signal, ...(onToken === undefined ? {} : { onToken }) }
    const result = kind === 'run'
      ? await engine.complete({ ...common, prompt: promptOf(req) as string })
      : await engine.chat({ ...common, messages: messagesOf(req), ...withTools(req) })
    if (result.finishReason === 'abort') {
      // A cut-off output is not the answer to the request: never recorded, never cached.
      throw new RequestAbortedError('gpu-infer: generation was cancelled (client gone or time limit reached)')
    }
    reportTimings(ctx, result)
    const message = resultMessage(result, engine.profile())
    // Call IDs derive from the request's ID: the same request names its calls the same way.
    if (result.toolCalls !== undefined) {
      const prefix = `call_${idOf(req).slice(0, 16)}`
      message['tool-calls'] = result.toolCalls.map((c, i) => ({ id: `${prefix}_${i}`, name: c.name, arguments: c.arguments }))
    }
    return fault === undefined ? message : fault.finish(message)
  }

  /** Loads llama.cpp and registers the models, once; a failure is retried by the next call. */
  async function ready(): Promise<void> {
    started ??= (async () => {
      const engine = engineNow()
      await engine.init()
      for (const [name, path] of Object.entries(init.models ?? {})) await engine.addModel(name, path)
      for (const name of init.preload ?? []) {
        const progress = init.onLoadProgress
        await engine.preload(name, progress === undefined ? {} : { onProgress: (fraction) => progress(name, fraction) })
      }
    })()
    try {
      await started
    } catch (err) {
      started = undefined
      throw err
    }
  }

  return {
    name: GPU_INFER_DEVICE_NAME,
    info: { description: 'Deterministic, replayable LLM inference on llama.cpp (GPU when present).' },
    // Results name the runtime profile they ran on; a model not installed here is a missing input.
    replay: {
      profileOf: (result) => (typeof result['profile-id'] === 'string' ? result['profile-id'] : undefined),
      missingInputCodes: ['unknown-model'],
    },
    keys: {
      run: (base, req, ctx) => infer('run', base, req, ctx),
      chat: (base, req, ctx) => infer('chat', base, req, ctx),
      queue: (_base, _req, ctx) => pool.queue(ctx),
      // The model's tokenizer: deterministic (a function of the weights file and the text).
      async tokenize(_base, req) {
        await ready()
        const params = tokenizeParams(req)
        if (params.model !== undefined && storedModels !== undefined) params.model = await storedModels.resolve(params.model)
        const out = await engineNow().tokenize(params)
        const tokens = out.pieces === undefined ? out.tokens : out.tokens.map((id, i) => ({ id, piece: out.pieces![i]! }))
        return { tokens, model: { name: out.model.name, sha256: out.model.sha256, bytes: out.model.bytes } }
      },
      // Embeddings: deterministic on a profile, recorded with it (like an inference).
      async embed(_base, req, ctx) {
        await ready()
        const engine = engineNow()
        const params = embedParams(req)
        if (params.model !== undefined && storedModels !== undefined) params.model = await storedModels.resolve(params.model)
        const out = await engine.embed({ ...params, signal: ctx.signal })
        const prof = { ...profileMessage(engine.profile(), NO_SAMPLER), sampler: null, seed: null }
        return {
          embeddings: out.vectors, dimensions: out.dimensions,
          usage: { 'prompt-tokens': out.promptTokens, 'total-tokens': out.promptTokens },
          model: { name: out.model.name, sha256: out.model.sha256, bytes: out.model.bytes },
          profile: prof, 'profile-id': idOf(prof),
        }
      },
      async detokenize(_base, req) {
        await ready()
        const params = detokenizeParams(req)
        if (params.model !== undefined && storedModels !== undefined) params.model = await storedModels.resolve(params.model)
        const out = await engineNow().detokenize(params)
        return { content: out.content, model: { name: out.model.name, sha256: out.model.sha256, bytes: out.model.bytes } }
      },
      async models(_base, _req, ctx) {
        await ready()
        // Which models are loaded changes over time: this answer is never cached.
        ctx.markNonDeterministic()
        return engineNow().listModels().map((m) => ({
          name: m.name, sha256: m.sha256, bytes: m.bytes, loaded: m.loaded,
          ...(m.decode === undefined ? {} : {
            decode: { path: m.decode.path, lanes: m.decode.lanes, reason: m.decode.reason, weights: m.decode.weights, 'sampling-overlaps': m.decode.samplingOverlaps,
              'mean-decode-batch': Math.round(m.decode.meanDecodeBatch * 100) / 100 },
          }),
        }))
      },
      async profile(_base, _req, ctx) {
        await ready()
        ctx.markNonDeterministic()
        const p = engineNow().profile()
        return { ...profileMessage(p, NO_SAMPLER), sampler: null, seed: null }
      },
    },
    // The OpenAI-compatible surface (openai.ts): /~gpu-infer@1.0/v1/{chat/completions,completions,models}.
    routes(app, http) {
      mountOpenAi(app as Hono, { http, log: init.log ?? SILENT, maxChoices: init.maxChoices ?? OPENAI_DEFAULTS.maxChoices })
    },
    // Without --preload, llama.cpp loads on the first request, so a node that never infers
    // never pays for it.
    start: async () => {
      if ((init.preload ?? []).length > 0) await ready()
      await pool.start()
    },
    async stop() {
      await pool.stop()
      const engine = current
      const wasStarted = started !== undefined
      started = undefined
      if (engine === undefined || (given !== undefined && !wasStarted)) return
      if (given === undefined) {
        current = undefined
        stored = undefined
      }
      await engine.close()
    },
    engineStats: () => current?.stats() ?? [],
    poolLoad: () => pool.load(),
    async runtime() {
      return engineNow().init()
    },
  }
}

export default gpuInferDevice
