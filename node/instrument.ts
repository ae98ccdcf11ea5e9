/**
 * @module
 * Observation wrapped around the node's parts rather than written into them: the store, the
 * inference engine and the replay device are wrapped here, so core/, the engine and the ledger
 * stay free of metrics code (only the resolver has a one-line step hook).
 *
 * Each wrapper delegates to the wrapped object and reports to the metrics (node/metrics.ts)
 * and the tracer (node/telemetry.ts); neither changes a result, an error or a timing the
 * wrapped code reports.
 */
import type { Store } from '../core/store.js'
import type { Device, KeyHandler, Message } from '../core/types.js'
import type { Engine, GenerateParams, InferResult } from '../devices/gpu-infer/index.js'
import { REPLAY_DEVICE_NAME } from '../devices/replay/index.js'
import type { NodeMetrics } from './metrics.js'
import { inferenceSpan } from './telemetry.js'

/** Times every operation of a store, per backend; counts ledger writes (step records, messages). */
export function observedStore(store: Store, metrics: NodeMetrics): Store {
  const timed = <A extends unknown[], R>(op: string, fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    const t0 = performance.now()
    try {
      return await fn(...args)
    } finally {
      metrics.storeOp(op, (performance.now() - t0) / 1000)
    }
  }
  // The store's own methods (pick), each timed except `list`, whose cost is the caller's pace.
  const wrapped = pick(store)
  wrapped.get = timed('get', wrapped.get)
  wrapped.put = timed('put', wrapped.put)
  wrapped.has = timed('has', wrapped.has)
  wrapped.delete = timed('delete', wrapped.delete)
  const batch = wrapped.batch
  wrapped.batch = timed('batch', async (ops) => {
    await batch(ops)
    let steps = 0
    let messages = 0
    for (const op of ops) {
      if (op.type !== 'put') continue
      if (op.key.startsWith('step/')) steps++
      else if (op.key.startsWith('msg/')) messages++
    }
    metrics.ledgerWrites(steps, messages)
  })
  if (wrapped.size !== undefined) wrapped.size = timed('size', wrapped.size)
  if (wrapped.getStream !== undefined) wrapped.getStream = timed('get-stream', wrapped.getStream)
  if (wrapped.putStream !== undefined) wrapped.putStream = timed('put-stream', wrapped.putStream)
  return wrapped
}

/** Calls `onRead(n)` with the number of step records read so far (CLI progress of chain walks). */
export function countingStepReads(store: Store, onRead: (count: number) => void): Store {
  let reads = 0
  return {
    ...pick(store),
    get: async (key: string) => {
      const value = await store.get(key)
      if (key.startsWith('step/')) onRead(++reads)
      return value
    },
  }
}

/** A store's methods bound to it, as a plain object to override some of. */
function pick(store: Store): Store {
  const out: Store = {
    kind: store.kind,
    get: (key) => store.get(key), put: (key, value) => store.put(key, value), has: (key) => store.has(key),
    delete: (key) => store.delete(key), list: (prefix, options) => store.list(prefix, options),
    batch: (ops) => store.batch(ops), close: () => store.close(),
  }
  if (store.size !== undefined) out.size = (key) => store.size!(key)
  if (store.getStream !== undefined) out.getStream = (key, range) => store.getStream!(key, range)
  if (store.putStream !== undefined) out.putStream = (key, source) => store.putStream!(key, source)
  return out
}

/** Reports every inference (tokens, latency, load) and model preload; opens a GenAI span. */
export function observedEngine(engine: Engine, metrics: NodeMetrics | undefined): Engine {
  const report = (operation: 'chat' | 'text_completion', req: GenerateParams | undefined, run: () => Promise<InferResult>) =>
    inferenceSpan(operation, req, async (span): Promise<InferResult> => {
      const result = await run()
      const { usage, timings } = result
      span?.record(result)
      metrics?.inference({
        model: result.model.name, finishReason: result.finishReason,
        promptTokens: usage.promptTokens, completionTokens: usage.completionTokens,
        firstTokenSeconds: (timings.queueMs + timings.loadMs + timings.firstTokenMs) / 1000,
        perTokenSeconds: timings.tokensPerSecond > 0 ? 1 / timings.tokensPerSecond : 0,
        loadSeconds: timings.loadMs / 1000,
      })
      return result
    })
  return {
    ...engine,
    complete: (req) => report('text_completion', req, () => engine.complete(req)),
    chat: (req) => report('chat', req, () => engine.chat(req)),
    async preload(ref, opts) {
      const t0 = performance.now()
      const wasLoaded = engine.listModels().some((m) => m.loaded && (m.name === ref || m.sha256 === ref))
      const info = await engine.preload(ref, opts)
      if (!wasLoaded) metrics?.modelLoad(info.name, (performance.now() - t0) / 1000)
      return info
    },
  }
}

/** A built-in as the node observes it: replay@1.0's runs counted, the others as they are. */
export const observedDevice = (device: Device, metrics: NodeMetrics | undefined): Device =>
  device.name === REPLAY_DEVICE_NAME ? observedReplay(device, metrics) : device

/** Counts verify and replay runs of a replay device by outcome, and replayed divergences. */
export function observedReplay(device: Device, metrics: NodeMetrics | undefined): Device {
  if (metrics === undefined) return device
  const count = (kind: 'verify' | 'replay', handler: KeyHandler | undefined): KeyHandler | undefined => handler === undefined ? undefined
    : async (base, req, ctx) => {
      const report = (await handler(base, req, ctx)) as Message
      const divergent = typeof report.divergent === 'number' ? report.divergent : 0
      const valid = kind === 'verify' ? report.valid === true : divergent === 0 && report.ledger === undefined
      metrics.verify(kind, valid, divergent)
      return report
    }
  const verify = count('verify', device.keys.verify)
  const replay = count('replay', device.keys.replay)
  return {
    ...device,
    keys: { ...device.keys, ...(verify === undefined ? {} : { verify }), ...(replay === undefined ? {} : { replay }) },
  }
}
