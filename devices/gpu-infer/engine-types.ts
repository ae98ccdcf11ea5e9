/**
 * @module
 * Public types of the inference engine (kept apart so the device and HTTP layers can import
 * them without pulling in node-llama-cpp).
 */
import type { Logger } from '../../core/types.js'
import type { HashCache, ModelIdentity } from './models.js'
import type { ChatRequest, CompleteRequest, SamplerSettings } from './engine-request.js'
import type { DetokenizeRequest, TokenizeRequest } from './engine-tokens.js'
import type { EmbedRequest, EmbedResult } from './engine-embed.js'
import type { ToolCall } from './engine-tools.js'
import type { FinishReason, TokenLogprob } from './engine-generate.js'
import type { DecodePlan, ParallelMode } from './engine-decode.js'

export type GpuOption = 'auto' | 'cuda' | 'vulkan' | 'metal' | false

export interface EngineOptions {
  /** 'auto' uses a GPU when node-llama-cpp finds one, else the CPU. Never downloads or builds. */
  gpu: GpuOption
  /** llama.cpp threads per context. Always explicit: the default is pathological on small hosts. */
  threads: number
  batchSize: number
  /** Tokens per context; llama.cpp rounds up to a multiple of 256 (the profile shows the result). */
  contextSize: number
  flashAttention: boolean
  /** Requests allowed to wait per model (beyond the one running); more → 503 `queue-full`. */
  maxQueue: number
  log: Logger
  /** Model file bytes kept loaded; past it, least recently used idle models are unloaded. */
  memoryBudgetBytes?: number
  defaultMaxTokens?: number
  maxTokensCap?: number
  /** Layers offloaded to the GPU: 'max' (default on GPU; a fixed split keeps numerics fixed) or a count. */
  gpuLayers?: 'max' | number
  /** Where model digests are cached (default: one in-memory cache per process). */
  hashCache?: HashCache
  /** Model used when a request names none (default: the only registered model, if one). */
  defaultModel?: string
  /**
   * Requests one model serves at once (default 1, at most 8): that many lanes, each computing
   * its request exactly as if alone (engine-lanes.ts). Batched only where that is proven.
   */
  parallel?: number
  /** 'auto' (default): batched or separate contexts by the rule in engine-decode.ts; 'batch'; 'solo'. */
  parallelMode?: ParallelMode
  /**
   * TESTS ONLY: batched models keep node-llama-cpp's own scheduling and concurrent sampling (no
   * self-check), to show the race this engine prevents. Never set it in a node.
   */
  unsafeLibraryScheduling?: boolean
}

/** Everything about the runtime that can change numerics. Equal profiles replay bit-exactly. */
export interface EngineProfile {
  backend: 'cpu' | 'cuda' | 'vulkan' | 'metal'
  /** llama.cpp release the binaries were built from, `repo@release`. */
  llamaCppBuild: string
  /** 'prebuilt' or 'localBuild'. */
  binary: string
  nodeLlamaCpp: string
  /** CPU kernel variant loaded (e.g. 'zen4', 'haswell'): AVX-512 and AVX2 kernels differ in the last bits. */
  cpuVariant: string | null
  /** GPU device name(s), null on CPU. */
  gpu: string | null
  gpuLayers: 'max' | number
  threads: number
  batchSize: number
  contextSize: number
  flashAttention: boolean
  /**
   * Always 1: every request computes what one sequence alone in its context computes. Batched
   * lanes (`parallel`) are used only where that holds bit for bit, so they do not change it.
   */
  sequencesPerContext: 1
}

export interface ModelInfo extends ModelIdentity {
  loaded: boolean
  /**
   * While loaded: how it decodes concurrent requests; sampling calls that overlapped (always 0
   * unless the test switch is on); sequences per decode batch on average (batched path; else 0).
   */
  decode?: DecodePlan & { samplingOverlaps: number; meanDecodeBatch: number }
}

export interface InferTimings {
  /** Waiting for the model's queue. */
  queueMs: number
  /** Loading the model for this request (0 when already loaded). */
  loadMs: number
  /** From the start of evaluation (prompt included) to the first sampled token. */
  firstTokenMs: number
  /** Whole request inside the engine. */
  totalMs: number
  /** Decode rate after the first token: (completionTokens − 1) / time since it. */
  tokensPerSecond: number
}

export interface InferResult {
  output: string
  finishReason: FinishReason
  usage: { promptTokens: number; completionTokens: number; totalTokens: number }
  timings: InferTimings
  /** The exact weights used (identity checked when the model was loaded). */
  model: ModelIdentity
  /** The sampler as run: every default resolved, and the seed actually used. */
  sampler: SamplerSettings
  /** Generated token ids (compare these across machines for greedy replays). */
  tokens: number[]
  /** How the prompt was rendered: 'text', 'fallback', or the chat template wrapper's name. */
  promptFormat: string
  /** The request stop sequence that ended the output. */
  stopSequence?: string
  /** Which path ran ('solo' or 'batched'): a property of the node, never part of a result. */
  decodePath?: DecodePlan['path']
  /** JSON mode: the parsed output, present only when it parsed and validated. */
  json?: unknown
  /** One per generated token when the request asked for logprobs. */
  logprobs?: TokenLogprob[]
  /** The tool calls the turn made (chat with tools), in order. */
  toolCalls?: ToolCall[]
}

export interface Engine {
  /** Load the llama.cpp backend (idempotent; other calls do it on demand). */
  init(): Promise<EngineProfile>
  /** The runtime profile; throws 503 `engine-not-ready` before init. */
  profile(): EngineProfile
  addModel(name: string, path: string): Promise<ModelInfo>
  /** Load a model now (e.g. at node start); progress goes to the log and to `onProgress`. */
  preload(ref: string, opts?: { onProgress?: (fraction: number) => void }): Promise<ModelInfo>
  /** Unload a model if loaded and idle; true when it was unloaded. */
  unload(ref: string): Promise<boolean>
  listModels(): ModelInfo[]
  /** Identity of a model by name or sha256 (404 `unknown-model`). */
  resolveModel(ref?: string): ModelIdentity
  complete(req: CompleteRequest): Promise<InferResult>
  /** The model's token ids for a text (and each token's text with `withPieces`). */
  tokenize(req: TokenizeRequest & { withPieces?: boolean }): Promise<{ tokens: number[]; pieces?: string[]; model: ModelIdentity }>
  /** The model's embedding of each input text, L2-normalized (engine-embed.ts). */
  embed(req: EmbedRequest): Promise<EmbedResult & { model: ModelIdentity }>
  /** The text of token ids (400 `invalid-tokens` for an id past the vocabulary). */
  detokenize(req: DetokenizeRequest): Promise<{ content: string; model: ModelIdentity }>
  chat(req: ChatRequest): Promise<InferResult>
  /** Queue occupancy per model. */
  stats(): Array<{ name: string; loaded: boolean; running: number; waiting: number }>
  close(): Promise<void>
}
