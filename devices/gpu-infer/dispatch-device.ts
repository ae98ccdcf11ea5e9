/**
 * @module
 * gpu-infer@1.0's part in the inference pool: a dispatching node hands its runs to the pool
 * instead of its engine; a worker node serves the pool's jobs with its engine, through the
 * node's resolver. `/~gpu-infer@1.0/queue` shows the pool (or the local queues off the pool).
 */
import { idOf } from '../../core/id.js'
import { messageWrites } from '../../core/ledger.js'
import type { Resolver } from '../../core/resolve.js'
import type { Store } from '../../core/store.js'
import type { Logger, Message, ResolveContext } from '../../core/types.js'
import { createDispatcher, type Dispatcher } from './dispatch-client.js'
import { createPoolWorker, type PoolWorker } from './dispatch-worker.js'

export const DEFAULT_POOL_LEASE_MS = 5000

export interface PoolInit {
  /** Hand runs to the pool at this Redis URL (`--dispatch`). */
  readonly dispatch?: { readonly url: string; readonly maxQueue: number; readonly leaseMs: number }
  /** Serve the pool's jobs at this Redis URL (`--worker`). */
  readonly worker?: {
    readonly url: string; readonly leaseMs: number; readonly slots: number; readonly address: string
    /** The node's resolver: jobs run through it, so their records name this node. */
    readonly resolver: Resolver
    readonly store: Store
  }
}

/** The engine's side the pool needs: its models once ready, and its local queue numbers. */
interface EngineView {
  ready(): Promise<void>
  modelNames(): readonly string[]
  localStats(): unknown
}

export function devicePool(init: PoolInit | undefined, engine: EngineView, log: Logger) {
  const dispatch = init?.dispatch
  const work = init?.worker
  const dispatcher: Dispatcher | undefined = dispatch === undefined ? undefined
    : createDispatcher({ url: dispatch.url, maxQueue: dispatch.maxQueue, leaseMs: dispatch.leaseMs, log: log.child({ pool: 'dispatch' }) })
  let worker: PoolWorker | undefined
  // The pool's numbers per model, refreshed in the background for the router's heartbeat
  // (which reads them synchronously); empty off the pool or while Redis is away.
  let load: Record<string, Record<string, number>> = {}
  let loadTimer: NodeJS.Timeout | undefined
  const refreshLoad = async () => {
    const stats = dispatcher !== undefined ? await dispatcher.stats() : await worker?.poolStats()
    const next: Record<string, Record<string, number>> = {}
    for (const m of (stats?.models ?? []) as Message[]) {
      next[String(m.model)] = {
        'pool-waiting': Number(m.waiting), 'pool-in-flight': Number(m['in-flight']), 'pool-workers': Number(m.workers), 'pool-oldest-wait-ms': Number(m['oldest-wait-ms']),
      }
    }
    load = next
  }

  const makeWorker = (w: NonNullable<PoolInit['worker']>): PoolWorker => createPoolWorker({
    url: w.url, leaseMs: w.leaseMs, slots: w.slots, address: w.address, log: log.child({ pool: 'worker' }),
    async models() {
      await engine.ready()
      const names = engine.modelNames()
      // A request naming no model goes to the `_default` streams; a single-model node serves them.
      return names.length === 1 ? [...names, '_default'] : names
    },
    async profile() {
      return (await w.resolver.resolve('/~gpu-infer@1.0/profile')).value as Message
    },
    async recordFault(fault) {
      await w.store.batch(messageWrites([fault]))
      return idOf(fault)
    },
    async execute(job, onToken, signal) {
      const result = await w.resolver.step(job.base, job.baseHashpath, job.req, {
        signal, stream: {
          write: (event, data) => {
            if (event !== 'token') return
            const { text, ...extra } = data as { text: unknown } & Record<string, unknown>
            onToken(String(text), Object.keys(extra).length === 0 ? undefined : extra)
          },
        },
      })
      return { id: result.id, hashpath: result.hashpath, value: result.value as Message, meta: result.meta, cached: result.cached }
    },
  })

  return {
    /** Set on a dispatching node: runs go to the pool. */
    dispatcher,
    async queue(ctx: ResolveContext): Promise<Message> {
      ctx.markNonDeterministic()
      const pool = dispatcher !== undefined ? await dispatcher.stats()
        : worker !== undefined ? await worker.poolStats() : { pool: false, local: engine.localStats() as Message[] }
      return worker === undefined ? pool : { ...pool, worker: worker.stats() }
    },
    /** Per model: pool-waiting, pool-in-flight, pool-workers, pool-oldest-wait-ms (router heartbeats). */
    load: (): Readonly<Record<string, Readonly<Record<string, number>>>> => load,
    async start(): Promise<void> {
      await dispatcher?.start()
      if (work !== undefined && worker === undefined) {
        worker = makeWorker(work)
        await worker.start()
      }
      if ((dispatcher !== undefined || worker !== undefined) && loadTimer === undefined) {
        loadTimer = setInterval(() => { refreshLoad().catch(() => { load = {} }) }, 2000)
        loadTimer.unref()
      }
    },
    async stop(): Promise<void> {
      if (loadTimer !== undefined) clearInterval(loadTimer)
      loadTimer = undefined
      await worker?.stop()
      worker = undefined
      await dispatcher?.close()
    },
  }
}

export type DevicePool = ReturnType<typeof devicePool>
export type { Dispatcher }
export const dispatchInfer = (pool: DevicePool, base: Message, req: Message, ctx: ResolveContext): Promise<Message> | undefined =>
  pool.dispatcher?.infer(base, req, ctx)
