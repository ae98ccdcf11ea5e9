/**
 * Is the node still answering while something hostile runs? A probe sends a cheap request
 * (by default `GET /~meta@1.0/info/address`) again and again, one at a time, and records the
 * worst latency; in process it also reads `perf_hooks.monitorEventLoopDelay`, which sees a
 * stall even between probes.
 *
 * Thresholds (docs/security.md, "Bounded work"): the stalls this guards against lasted seconds
 * (a large JSON-schema enum held the loop for tens of seconds), while a 2-core machine shared
 * with other test files adds scheduling and GC pauses of a few hundred milliseconds (a load
 * average of 10 on 2 cores was measured while these tests ran). So a test asserts a worst probe
 * under STALL_LIMIT_MS (1 s, also the attacker script's acceptance bound) and a worst loop delay
 * under LOOP_DELAY_LIMIT_MS (1 s): above the noise, far below the stalls they guard against.
 * In process, the loop delay includes the test's own work on the same loop (building a body),
 * so tests prepare their bodies before they start probing.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

export const STALL_LIMIT_MS = 1_000
export const LOOP_DELAY_LIMIT_MS = 1_000

export interface ProbeReport {
  /** Probes answered, and the worst and median latency among them (ms). */
  readonly probes: number
  readonly worstMs: number
  readonly medianMs: number
  /** Probes that failed, timed out or answered other than 200. */
  readonly failures: readonly string[]
  /** In process only: the longest event-loop delay seen while probing (ms). */
  readonly loopDelayMaxMs?: number
  /** Probes slower than SLOW_MS: when they started (performance.now()) and how long they took. */
  readonly slow: ReadonlyArray<{ readonly at: number; readonly ms: number }>
}

const SLOW_MS = 250

export interface LoopProbe {
  stop(): Promise<ProbeReport>
}

export interface ProbeOptions {
  /** Pause between probes (ms); default 20. */
  readonly intervalMs?: number
  /** A probe slower than this counts as a failure (ms); default 5 s. */
  readonly timeoutMs?: number
  /** Also watch this process's event loop (when the node runs in this process). */
  readonly inProcess?: boolean
}

/** Starts probing with `send` (one request at a time) until `stop()`. */
export function startProbe(send: (signal: AbortSignal) => Promise<Response> | Response, options: ProbeOptions = {}): LoopProbe {
  const intervalMs = options.intervalMs ?? 20
  const timeoutMs = options.timeoutMs ?? 5_000
  const histogram = options.inProcess === true ? monitorEventLoopDelay({ resolution: 10 }) : undefined
  histogram?.enable()
  const latencies: number[] = []
  const failures: string[] = []
  const slow: Array<{ at: number; ms: number }> = []
  let running = true
  const loop = (async () => {
    while (running) {
      const began = performance.now()
      try {
        const res = await send(AbortSignal.timeout(timeoutMs))
        await res.arrayBuffer()
        if (res.status !== 200) failures.push(`status ${res.status}`)
      } catch (err) {
        failures.push(String((err as Error).message ?? err))
      }
      const ms = performance.now() - began
      latencies.push(ms)
      if (ms > SLOW_MS) slow.push({ at: Math.round(began), ms: Math.round(ms) })
      await new Promise((done) => setTimeout(done, intervalMs))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      histogram?.disable()
      const sorted = [...latencies].sort((a, b) => a - b)
      return {
        probes: latencies.length,
        worstMs: Math.round(sorted.at(-1) ?? 0),
        medianMs: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
        failures,
        slow,
        ...(histogram === undefined ? {} : { loopDelayMaxMs: Math.round(histogram.max / 1e6) }),
      }
    },
  }
}

/** A probe of a node over HTTP (a live process, or a server in this process). */
export function probeUrl(baseUrl: string, options: ProbeOptions = {}, path = '/~meta@1.0/info/address'): LoopProbe {
  return startProbe((signal) => fetch(`${baseUrl}${path}`, { signal }), options)
}

/** Runs `work` under a probe; returns its result and the probe's report. */
export async function underProbe<T>(probe: LoopProbe, work: () => Promise<T>): Promise<{ result: T; report: ProbeReport }> {
  // Let the probe take a few baseline samples first.
  await new Promise((done) => setTimeout(done, 60))
  try {
    const result = await work()
    return { result, report: await probe.stop() }
  } catch (err) {
    await probe.stop()
    throw err
  }
}
