/**
 * @module
 * Loaded models: lazy loading with progress, one context per model, LRU unloading.
 *
 * Each registered model has a slot: its queue, and (when loaded) the llama.cpp model, its lanes
 * (engine-lanes.ts: solo contexts, or one batched context when that is proven bit-exact) and
 * the chat wrapper. A load re-checks the file first: if its
 * size or mtime changed since registration, it is re-hashed, so a result always names the
 * weights that really ran. Before loading, idle models are unloaded least-recently-used first
 * until the new one fits the memory budget (file bytes: mmap'ed weights dominate a model's RAM).
 */
import type { ChatWrapper, Llama, LlamaModel } from 'node-llama-cpp'
import { InternalError } from '../../core/errors.js'
import type { Logger } from '../../core/types.js'
import { pickEvictions, type ModelIdentity, type ModelRegistry } from './models.js'
import { createQueue, type WorkQueue } from './queue.js'
import { chatWrapperFor } from './engine-prompt.js'
import type { EngineProfile } from './engine-types.js'
import { lanePool, type Lane, type LaneSet } from './engine-lanes.js'
import { openLanes, type DecodePlan, type ParallelMode } from './engine-decode.js'

export interface LoadedModel {
  identity: ModelIdentity
  model: LlamaModel
  lanes: LaneSet
  /** Free lanes, lowest index first. */
  pool: { take(): Lane; give(lane: Lane): void }
  decode: DecodePlan
  wrapper: ChatWrapper | null
}

export interface Slot {
  name: string
  queue: WorkQueue
  loaded?: LoadedModel
  loading?: Promise<LoadedModel>
  lastUsed: number
}

export interface SlotManager {
  slot(name: string): Slot
  /** The loaded model, loading it if needed; `loadMs` is 0 when it was already loaded. */
  ensureLoaded(slot: Slot, onProgress?: (fraction: number) => void): Promise<{ loaded: LoadedModel; loadMs: number }>
  unload(slot: Slot): Promise<boolean>
  all(): Slot[]
}

export function createSlotManager(opts: {
  llama: () => Promise<{ llama: Llama; profile: EngineProfile }>
  registry: ModelRegistry
  log: Logger
  maxQueue: number
  memoryBudgetBytes: number
  initialEstimateSeconds: number
  /** Lanes per model (requests one model serves at once). */
  parallel: number
  parallelMode: ParallelMode
  /** Tests only: node-llama-cpp's own batch scheduling and concurrent sampling. */
  unsafeLibraryScheduling?: boolean
}): SlotManager {
  const slots = new Map<string, Slot>()
  let clock = 0 // a counter, not time: LRU order must not depend on timer resolution

  const slot = (name: string): Slot => {
    let s = slots.get(name)
    if (s === undefined) {
      s = { name, queue: createQueue({ maxQueue: opts.maxQueue, name, initialEstimateSeconds: opts.initialEstimateSeconds, concurrency: opts.parallel }), lastUsed: 0 }
      slots.set(name, s)
    }
    return s
  }

  const unload = async (s: Slot): Promise<boolean> => {
    const loaded = s.loaded
    if (loaded === undefined || s.loading !== undefined) return false
    s.loaded = undefined
    await loaded.lanes.dispose()
    await loaded.model.dispose()
    opts.log.info({ model: s.name }, 'gpu-infer: model unloaded')
    return true
  }

  const evictFor = async (incoming: Slot, bytes: number) => {
    const candidates = [...slots.values()]
      .filter((s) => s !== incoming && s.loaded !== undefined)
      .map((s) => ({ name: s.name, bytes: s.loaded!.identity.bytes, lastUsed: s.lastUsed, busy: s.queue.busy || s.loading !== undefined }))
    const victims = pickEvictions(candidates, bytes, opts.memoryBudgetBytes)
    for (const name of victims) await unload(slots.get(name)!)
    const after = [...slots.values()].reduce((n, s) => n + (s.loaded?.identity.bytes ?? 0), 0) + bytes
    if (after > opts.memoryBudgetBytes) {
      opts.log.warn({ model: incoming.name, bytes: after, budget: opts.memoryBudgetBytes }, 'gpu-infer: loading over the memory budget (the rest is busy)')
    }
  }

  const load = async (s: Slot, onProgress?: (fraction: number) => void): Promise<LoadedModel> => {
    const { llama, profile } = await opts.llama()
    const rec = await opts.registry.refresh(s.name)
    await evictFor(s, rec.bytes)
    const log = opts.log.child({ model: s.name, sha256: rec.sha256 })
    log.info({ bytes: rec.bytes }, 'gpu-infer: loading model')
    let lastStep = -1
    const model = await llama.loadModel({
      modelPath: rec.path,
      gpuLayers: profile.gpuLayers,
      // Contexts node-llama-cpp creates itself (embeddings) get the profile's setting, not "auto".
      defaultContextFlashAttention: profile.flashAttention,
      onLoadProgress: (p) => {
        onProgress?.(p)
        const step = Math.floor(p * 4) // log at 0, 25, 50, 75, 100 %
        if (step > lastStep) { lastStep = step; log.info({ progress: Math.round(p * 100) }, 'gpu-infer: load progress') }
      },
    }).catch((err: unknown) => {
      throw new InternalError(`gpu-infer: cannot load model ${s.name}: ${(err as Error).message}`, { code: 'model-load-failed', cause: err })
    })
    try {
      const { plan, set } = await openLanes({
        model, bytes: rec.bytes, parallel: opts.parallel, mode: opts.parallelMode,
        backend: profile.backend, threads: profile.threads, flashAttention: profile.flashAttention,
        contextOptions: { contextSize: profile.contextSize, batchSize: profile.batchSize, threads: profile.threads, flashAttention: profile.flashAttention },
        ...(opts.unsafeLibraryScheduling === true ? { unsafeLibraryScheduling: true } : {}),
      }, log)
      const contextSize = set.lanes[0]!.context.contextSize
      if (contextSize !== profile.contextSize) {
        log.warn({ contextSize, expected: profile.contextSize }, 'gpu-infer: llama.cpp chose another context size')
      }
      const identity = { name: rec.name, sha256: rec.sha256, bytes: rec.bytes }
      log.info({ gpuLayers: model.gpuLayers, decode: plan.path, lanes: plan.lanes }, 'gpu-infer: model loaded')
      return { identity, model, lanes: set, pool: lanePool(set.lanes), decode: plan, wrapper: chatWrapperFor(model, log) }
    } catch (err) {
      await model.dispose()
      throw new InternalError(`gpu-infer: cannot create a context for ${s.name}: ${(err as Error).message}`, { code: 'model-load-failed', cause: err })
    }
  }

  return {
    slot,
    all: () => [...slots.values()],
    unload,
    async ensureLoaded(s, onProgress) {
      s.lastUsed = ++clock
      if (s.loaded !== undefined) return { loaded: s.loaded, loadMs: 0 }
      const began = performance.now()
      if (s.loading === undefined) {
        s.loading = load(s, onProgress).then(
          (loaded) => { s.loaded = loaded; s.loading = undefined; return loaded },
          (err: unknown) => { s.loading = undefined; throw err },
        )
      }
      const loaded = await s.loading
      s.lastUsed = ++clock
      return { loaded, loadMs: performance.now() - began }
    },
  }
}
