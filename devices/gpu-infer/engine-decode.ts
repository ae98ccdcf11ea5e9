/**
 * @module
 * Which way a loaded model decodes concurrent requests, and the startup self-check that guards it.
 *
 * The rule (docs/devices/gpu-infer.md, "Concurrent requests"):
 * - `parallel` 1: one lane, today's one-at-a-time path;
 * - batched only when every matrix weight type is on the measured-invariant list, flash
 *   attention is off, and the mode allows it: `batch` forces it, `auto` picks it when one batch
 *   is the better use of the machine — on a GPU, when llama.cpp threads already cover the CPU
 *   cores, or when the model is memory-bound (file ≥ 128 MiB). Otherwise solo lanes: separate
 *   contexts use cores that one batch would leave idle (measured: 4 contexts gave 2× a batch
 *   of 4 on a 52 MB model with 1 thread per context);
 * - a batched model must pass a self-check at load: short prompts solo, then one per lane together,
 *   compared bit for bit (tokens and float32 probabilities). A failure (say, after a library
 *   upgrade) is logged with its reason and the model serves solo lanes instead.
 * The path never enters a result: both paths compute the same bits, which is the point.
 */
import { availableParallelism } from 'node:os'
import type { LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp'
import type { Logger } from '../../core/types.js'
import { batchedLanes, BATCH_INVARIANT_TYPES, matrixTypes, soloLanes, typeName, type Lane, type LaneSet } from './engine-lanes.js'

export type ParallelMode = 'auto' | 'batch' | 'solo'

/** How a model decodes, as `/~gpu-infer@1.0/models` reports it. */
export interface DecodePlan {
  path: 'solo' | 'batched'
  lanes: number
  /** Why this path (a rule, or the self-check's finding). */
  reason: string
  /** The model's matrix weight types. */
  weights: string[]
}

/** Models at least this big are memory-bound on a CPU: one batch reads the weights once for all. */
export const MEMORY_BOUND_BYTES = 128 * 1024 ** 2

interface PlanInput {
  model: LlamaModel
  bytes: number
  parallel: number
  mode: ParallelMode
  backend: string
  threads: number
  flashAttention: boolean
  /** The invariant list (tests widen it to show the self-check catching a variant type). */
  invariantTypes?: ReadonlyMap<number, string>
}

/** The path the rule picks (before the self-check). */
export function choosePath(input: PlanInput): DecodePlan {
  const types = matrixTypes(input.model)
  const weights = types.map(typeName)
  const solo = (reason: string): DecodePlan => ({ path: 'solo', lanes: input.parallel, reason, weights })
  if (input.parallel === 1) return solo('parallel is 1')
  if (input.mode === 'solo') return solo('parallel mode solo')
  const variant = types.filter((t) => !(input.invariantTypes ?? BATCH_INVARIANT_TYPES).has(t)).map(typeName)
  if (variant.length > 0) return solo(`weights ${variant.join(', ')} are not batch-invariant (their kernels change with the batch size)`)
  if (input.flashAttention) return solo('flash attention is on (not batch-invariant)')
  const batched = (reason: string): DecodePlan => ({ path: 'batched', lanes: input.parallel, reason, weights })
  if (input.mode === 'batch') return batched('parallel mode batch')
  if (input.backend !== 'cpu') return batched(`${input.backend}: one batch uses the device best`)
  if (input.threads >= availableParallelism()) return batched('threads cover the CPU cores')
  if (input.bytes >= MEMORY_BOUND_BYTES) return batched('memory-bound model (≥ 128 MiB)')
  return solo('compute-bound model and idle cores: separate contexts use more of them')
}

type Step = { token: Token; probs: Array<[Token, number]> }
const SAMPLERS = [{ temperature: 0 }, { temperature: 0.8, seed: 0x5eed, topK: 40, topP: 0.95 }] as const
const CHECK_TEXTS = ['Self-check one', 'The second self-check prompt is a little longer than the first one', 'Three', 'Four: a b c d e f g']
const CHECK_STEPS = 8

async function run(sequence: LlamaContextSequence, tokens: Token[], which: number, lane?: Lane): Promise<Step[]> {
  const steps: Step[] = []
  const evaluation = sequence.evaluateWithMetadata(tokens, { probabilities: true }, {
    ...SAMPLERS[which % SAMPLERS.length]!, yieldEogToken: true,
    ...(lane?.evaluationPriority === undefined ? {} : { evaluationPriority: lane.evaluationPriority }),
  })
  for await (const out of evaluation) {
    steps.push({ token: out.token, probs: [...out.probabilities!.entries()] })
    if (steps.length === CHECK_STEPS) break
  }
  return steps
}

/** Bitwise: same tokens, same probability entries in the same order, same float32 values. */
function firstDifference(a: Step[], b: Step[]): string | undefined {
  if (a.length !== b.length) return `${a.length} vs ${b.length} steps`
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.token !== b[i]!.token) return `token ${i}: ${a[i]!.token} vs ${b[i]!.token}`
    const pa = a[i]!.probs
    const pb = b[i]!.probs
    if (pa.length !== pb.length) return `step ${i}: ${pa.length} vs ${pb.length} probabilities`
    for (let k = 0; k < pa.length; k++) {
      if (pa[k]![0] !== pb[k]![0] || !Object.is(Math.fround(pa[k]![1]), Math.fround(pb[k]![1]))) return `step ${i}: probability ${k} differs`
    }
  }
  return undefined
}

/**
 * Short prompts solo (a fresh one-sequence context), then all together on the batched lanes:
 * every lane takes part, so the check covers the widest batch the model will decode (a kernel
 * can switch only above some batch size: on the tiny F16 model, 2 rows matched, 4 did not).
 */
export async function selfCheck(model: LlamaModel, set: LaneSet, contextOptions: Parameters<LlamaModel['createContext']>[0]): Promise<string | undefined> {
  const bos = model.tokens.bos
  const prompts = set.lanes.map((_, i) => [...(bos === null ? [] : [bos]), ...model.tokenize(CHECK_TEXTS[i % CHECK_TEXTS.length]!)])
  const alone: Step[][] = []
  const solo = await model.createContext({ ...contextOptions, sequences: 1 })
  try {
    for (let i = 0; i < prompts.length; i++) {
      const seq = solo.getSequence()
      try { alone.push(await run(seq, prompts[i]!, i)) } finally { await seq.dispose() }
    }
  } finally {
    await solo.dispose()
  }
  const lanes = set.lanes.slice(0, prompts.length)
  const together = await Promise.all(lanes.map(async (lane, i) => {
    const seq = lane.open()
    try { return await run(seq, prompts[i]!, i, lane) } finally { await lane.close(seq) }
  }))
  for (let i = 0; i < prompts.length; i++) {
    const diff = firstDifference(alone[i]!, together[i]!)
    if (diff !== undefined) return `prompt ${i + 1} batched differs from solo (${diff})`
  }
  if (set.sampling.overlaps > 0) return 'sampling calls overlapped'
  return undefined
}

/** Open the model's lanes by the rule, self-checking a batched set; falls back to solo lanes. */
export async function openLanes(
  input: PlanInput & { contextOptions: { contextSize: number; batchSize: number; threads: number; flashAttention: boolean }; unsafeLibraryScheduling?: boolean },
  log: Logger,
): Promise<{ plan: DecodePlan; set: LaneSet }> {
  const plan = choosePath(input)
  if (plan.path === 'batched') {
    const set = await batchedLanes(input.model, input.contextOptions, plan.lanes, input.unsafeLibraryScheduling === true)
    let failure = typeof set === 'string' ? set : undefined
    if (typeof set !== 'string' && input.unsafeLibraryScheduling !== true) {
      failure = await selfCheck(input.model, set, input.contextOptions).catch((err: unknown) => `self-check failed to run: ${(err as Error).message}`)
      if (failure !== undefined) await set.dispose()
    }
    if (typeof set !== 'string' && failure === undefined) {
      log.info({ decode: plan }, 'gpu-infer: batched decoding (self-check passed)')
      return { plan, set }
    }
    log.warn({ reason: failure }, 'gpu-infer: batched self-check failed; serving solo lanes')
    const fallback: DecodePlan = { ...plan, path: 'solo', reason: `batched self-check failed: ${failure}` }
    return { plan: fallback, set: await soloLanes(input.model, input.contextOptions, plan.lanes) }
  }
  log.info({ decode: plan }, 'gpu-infer: solo lanes')
  return { plan, set: await soloLanes(input.model, input.contextOptions, plan.lanes) }
}
