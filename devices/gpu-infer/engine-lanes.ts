/**
 * @module
 * Lanes: how one loaded model serves several requests at once without changing a single bit.
 *
 * A lane runs one request at a time; a model has `parallel` lanes. Two kinds:
 * - **solo**: every lane is its own llama.cpp context with one sequence. A request is computed
 *   exactly as if it were alone (it is), so this is safe for every weight type; separate
 *   contexts also use more cores than one batch when the model is compute-bound.
 * - **batched**: one context with `parallel` sequences whose decode steps share a batch
 *   (memory-bound models read the weights once per step for all of them). Measured in
 *   ../shared/research/batch-invariance.md, this keeps results bit-identical only when:
 *   the matrix weights are of a type whose kernels do not depend on the batch size (Q8_0, Q4_0;
 *   not F16/F32, whose kernels switch to tinyBLAS from two rows up); each prompt is evaluated
 *   alone and split exactly as solo would split it; flash attention is off; and sampling never
 *   races. node-llama-cpp samples all sequences of a batch concurrently, and llama.cpp reorders
 *   a batch's outputs lazily on the first read when its sequences arrived out of id order, so two
 *   concurrent readers can hand one sequence another's logits. Here both causes are removed:
 *   batch items are ordered by sequence id, and sampling is serialized per context.
 * The batching strategy receives items without their sequence, so each lane tags its evaluations
 * with `evaluationPriority` = lane index + 1 (node-llama-cpp reads the priority only in its own
 * built-in strategies, which a batched context does not use).
 */
import type { BatchItem, EvaluationPriority, LlamaContext, LlamaContextSequence, LlamaModel, PrioritizedBatchItem } from 'node-llama-cpp'

/** Weight types (ggml ids) measured batch-invariant on this stack: Q4_0 (2), Q8_0 (8), Q4_K (12). */
export const BATCH_INVARIANT_TYPES: ReadonlyMap<number, string> = new Map([[2, 'Q4_0'], [8, 'Q8_0'], [12, 'Q4_K']])

const TYPE_NAMES: Readonly<Record<number, string>> = { 0: 'F32', 1: 'F16', 2: 'Q4_0', 8: 'Q8_0', 12: 'Q4_K', 30: 'BF16' }
export const typeName = (id: number) => TYPE_NAMES[id] ?? `type ${id}`

/** The matrix (2-D) weight types of a loaded model, sorted; norms and biases are 1-D. */
export function matrixTypes(model: LlamaModel): number[] {
  const types = new Set<number>()
  for (const t of model.fileInfo.tensorInfo ?? []) if (t.dimensions.length >= 2) types.add(t.ggmlType as number)
  return [...types].sort((a, b) => a - b)
}

export interface Lane {
  readonly index: number
  readonly context: LlamaContext
  /** Priority tag of this lane's evaluations (batched lanes only). */
  readonly evaluationPriority?: EvaluationPriority
  /** A sequence with an empty history for one request. */
  open(): LlamaContextSequence
  /** Free the request's KV cells: the next request on this lane starts from nothing. */
  close(sequence: LlamaContextSequence): Promise<void>
}

/** Counts sampling calls that overlapped another on the same context (0 = the race cannot happen). */
export interface SamplingGuard {
  overlaps: number
}

export interface LaneSet {
  lanes: Lane[]
  sampling: SamplingGuard
  /** Decode batches run and the sequences in them (batched lanes; their ratio is the mean width). */
  decodes: { batches: number; items: number }
  dispose(): Promise<void>
}

type ContextOptions = { contextSize: number; batchSize: number; threads: number; flashAttention: boolean }

/**
 * Wrap the context's native `sampleToken` (node-llama-cpp internal, pinned 3.21.1): calls run one
 * after another (`serialize`), and overlaps are counted either way. Returns undefined when the
 * internal is not there any more (the caller then refuses to batch).
 */
function guardSampling(context: LlamaContext, serialize: boolean): SamplingGuard | undefined {
  const native = (context as unknown as { _ctx?: Record<string, unknown> })._ctx
  const sample = native?.sampleToken
  if (native === undefined || typeof sample !== 'function') return undefined
  const guard: SamplingGuard = { overlaps: 0 }
  let inFlight = 0
  let tail: Promise<unknown> = Promise.resolve()
  const counted = async (args: unknown[]): Promise<unknown> => {
    if (inFlight > 0) guard.overlaps++
    inFlight++
    try { return await (sample as (...a: unknown[]) => Promise<unknown>).apply(native, args) } finally { inFlight-- }
  }
  Object.defineProperty(native, 'sampleToken', {
    configurable: true,
    value: (...args: unknown[]) => {
      if (!serialize) return counted(args)
      const run = tail.then(() => counted(args))
      tail = run.catch(() => {})
      return run
    },
  })
  return guard
}

/** Solo lanes: `count` contexts of one sequence each. */
export async function soloLanes(model: LlamaModel, opts: ContextOptions, count: number): Promise<LaneSet> {
  const contexts: LlamaContext[] = []
  try {
    for (let i = 0; i < count; i++) contexts.push(await model.createContext({ ...opts, sequences: 1 }))
  } catch (err) {
    for (const c of contexts) await c.dispose()
    throw err
  }
  return {
    lanes: contexts.map((context, index) => ({
      index, context,
      open: () => context.getSequence(),
      close: (sequence) => sequence.dispose(),
    })),
    sampling: { overlaps: 0 },
    decodes: { batches: 0, items: 0 },
    dispose: async () => { for (const c of contexts) await c.dispose() },
  }
}

/**
 * One context, `count` sequences sharing decode batches. `unsafeLibraryScheduling` (tests only)
 * keeps node-llama-cpp's default scheduling and concurrent sampling, to show the race.
 */
export async function batchedLanes(model: LlamaModel, opts: ContextOptions, count: number, unsafeLibraryScheduling = false): Promise<LaneSet | string> {
  const prompting = new Set<number>() // lane indexes whose prompt is not fully evaluated yet
  const open = new Set<number>() // lane indexes serving a request
  const decodes = { batches: 0, items: 0 }
  const strategy = ({ items, size }: { items: readonly BatchItem[]; size: number }): PrioritizedBatchItem[] => {
    const byLane = [...items].sort((a, b) => a.evaluationPriority - b.evaluationPriority)
    const prompt = byLane.find((i) => prompting.has(i.evaluationPriority - 1))
    if (prompt !== undefined) {
      // Alone, and in chunks of the batch size, exactly as a solo context splits it.
      const processAmount = Math.min(prompt.tokens.length, size)
      if (processAmount === prompt.tokens.length) prompting.delete(prompt.evaluationPriority - 1)
      return [{ item: prompt, processAmount }]
    }
    decodes.batches++
    decodes.items += byLane.length
    return byLane.map((item) => ({ item, processAmount: item.tokens.length }))
  }
  const context = await model.createContext({
    ...opts, sequences: count,
    ...(unsafeLibraryScheduling ? {} : { batching: { itemPrioritizationStrategy: strategy } }),
  })
  const sampling = guardSampling(context, !unsafeLibraryScheduling)
  const gather = unsafeLibraryScheduling ? undefined : gatherDecodes(context, () => open.size - prompting.size)
  if (sampling === undefined || gather === null) {
    await context.dispose()
    return 'node-llama-cpp internals changed (no sampleToken to serialize or _decodeTokens to gather)'
  }
  // Sequence ids are handed out 0, 1, 2 … on a fresh context: lane i holds sequence i.
  const sequences = Array.from({ length: count }, () => context.getSequence())
  return {
    lanes: sequences.map((sequence, index) => ({
      index, context,
      evaluationPriority: (index + 1) as EvaluationPriority,
      open: () => { open.add(index); prompting.add(index); return sequence },
      close: async (seq) => {
        open.delete(index)
        prompting.delete(index)
        gather?.recheck() // one decoder fewer to wait for
        await seq.clearHistory()
      },
    })),
    sampling,
    decodes,
    dispose: () => context.dispose(),
  }
}

/**
 * Hold single-token decode items until every decoding lane has queued its next one, then hand
 * them to node-llama-cpp together. Sampling is serialized, so the lanes' next tokens arrive one
 * event-loop turn apart, and the library's dispatcher would start a batch with whatever is
 * queued: a batch of 4 ran as 3 + 1, or 1 + 1 + 1 + 1. A lane that finishes re-checks (one
 * decoder fewer); `GATHER_MAX_MS` bounds the wait should a lane stall. Batch composition never
 * changes a result here (that is what the invariance means): this is only about throughput.
 * Wraps an internal method (pinned 3.21.1); null when it is missing.
 */
function gatherDecodes(context: LlamaContext, decoders: () => number): { recheck(): void } | null {
  const ctx = context as unknown as { _decodeTokens?: (item: { tokens: unknown[] }, mapper: unknown) => Promise<unknown> }
  const original = ctx._decodeTokens
  if (typeof original !== 'function') return null
  let held: Array<() => void> = []
  let timer: NodeJS.Timeout | undefined
  const release = () => {
    clearTimeout(timer)
    timer = undefined
    const go = held
    held = []
    for (const start of go) start()
  }
  const recheck = () => { if (held.length > 0 && held.length >= decoders()) release() }
  ctx._decodeTokens = function (this: unknown, item, mapper) {
    if (item.tokens.length !== 1) return original.call(this, item, mapper) // prompts go alone anyway
    return new Promise((resolve, reject) => {
      held.push(() => { original.call(this, item, mapper).then(resolve, reject) })
      recheck()
      if (held.length > 0 && timer === undefined) timer = setTimeout(release, GATHER_MAX_MS)
    })
  }
  return { recheck }
}

/**
 * Longest a decode item waits for the other lanes' (a safety net: they come within one round of
 * sampling). 20 ms proved too short on a loaded 2-core machine, where four serialized sampling
 * round trips to the worker pool took longer and batches of 4 fell apart to ~2.2 on average.
 */
const GATHER_MAX_MS = 500

/** Lanes handed out lowest index first (the queue never runs more tasks than lanes). */
export function lanePool(lanes: readonly Lane[]): { take(): Lane; give(lane: Lane): void } {
  const free = new Set(lanes)
  return {
    take() {
      const lane = [...free].sort((a, b) => a.index - b.index)[0]
      if (lane === undefined) throw new Error('gpu-infer: no free lane (queue concurrency exceeds lanes)')
      free.delete(lane)
      return lane
    },
    give: (lane) => { free.add(lane) },
  }
}
