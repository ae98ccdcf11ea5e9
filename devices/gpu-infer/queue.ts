/**
 * @module
 * A bounded FIFO work queue, one per model.
 *
 * Requests for one model run at most `concurrency` at a time, one per lane of the model
 * (engine-lanes.ts: a lane computes each request exactly as if it were alone, so load never
 * changes a result). The queue
 * holds at most `maxQueue` waiting requests; beyond that the caller gets a 503 with an honest
 * `retryAfterSeconds`, estimated from recent run times, instead of waiting without bound.
 */
import { UnavailableError } from '../../core/errors.js'

export interface WorkQueue {
  /** Run `task` when it is its turn. Rejects at once (503 `queue-full`) when the queue is full. */
  run<T>(task: () => Promise<T>, opts?: { signal?: AbortSignal }): Promise<T>
  /** Requests running (up to the concurrency) and waiting. */
  readonly running: number
  readonly waiting: number
  /** True while anything is running or waiting (the model must not be unloaded). */
  readonly busy: boolean
  /** Reject every waiting request with `reason` (used by close). */
  drain(reason: Error): void
}

interface Waiter {
  start: () => void
  fail: (err: unknown) => void
}

/** Seconds to suggest in `Retry-After`: the expected wait of one more request, at least 1. */
function retryAfter(avgSeconds: number, ahead: number): number {
  return Math.max(1, Math.ceil(avgSeconds * ahead))
}

export function createQueue(opts: { maxQueue: number; name: string; initialEstimateSeconds: number; concurrency?: number }): WorkQueue {
  if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0) throw new RangeError('queue: maxQueue must be an integer >= 0')
  const concurrency = opts.concurrency ?? 1
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('queue: concurrency must be an integer >= 1')
  const waiters: Waiter[] = []
  let running = 0
  // Exponential moving average of run time; feeds retryAfterSeconds only, never a result.
  let avgSeconds = opts.initialEstimateSeconds

  const next = () => {
    while (running < concurrency) {
      const w = waiters.shift()
      if (w === undefined) return
      w.start()
    }
  }

  return {
    get running() { return running },
    get waiting() { return waiters.length },
    get busy() { return running > 0 || waiters.length > 0 },

    run<T>(task: () => Promise<T>, runOpts: { signal?: AbortSignal } = {}): Promise<T> {
      const { signal } = runOpts
      if (signal?.aborted) return Promise.reject(signal.reason)
      if (running >= concurrency && waiters.length >= opts.maxQueue) {
        const seconds = retryAfter(avgSeconds / concurrency, waiters.length + 1)
        return Promise.reject(new UnavailableError(`gpu-infer: queue for model ${opts.name} is full (${opts.maxQueue} waiting)`, {
          code: 'queue-full', retryAfterSeconds: seconds, detail: { model: opts.name, waiting: waiters.length, 'retry-after': seconds },
        }))
      }
      return new Promise<T>((resolve, reject) => {
        const execute = () => {
          signal?.removeEventListener('abort', onAbort)
          running++
          const began = performance.now()
          // Free the slot before settling, so the caller sees an idle queue once it resumes.
          const done = () => {
            running--
            avgSeconds = 0.7 * avgSeconds + 0.3 * ((performance.now() - began) / 1000)
            next()
          }
          // The task itself decides what an abort means once it runs (a partial result).
          task().then((v) => { done(); resolve(v) }, (e: unknown) => { done(); reject(e) })
        }
        const waiter: Waiter = { start: execute, fail: reject }
        const onAbort = () => {
          const i = waiters.indexOf(waiter)
          if (i >= 0) { waiters.splice(i, 1); reject(signal?.reason ?? new Error('aborted')) }
        }
        if (running < concurrency && waiters.length === 0) { execute(); return }
        signal?.addEventListener('abort', onAbort, { once: true })
        waiters.push(waiter)
      })
    },

    drain(reason: Error) {
      for (const w of waiters.splice(0)) w.fail(reason)
    },
  }
}
