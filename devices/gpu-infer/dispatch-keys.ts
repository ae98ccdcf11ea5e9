/**
 * @module
 * The Redis layout of the inference pool (issue 15, docs/cluster.md "The inference pool"). All
 * keys sit under one prefix (default `hashbeam:pool:`, `?prefix=` in the URL):
 *
 * - `q:<model>:<lane>`  a Redis Stream of jobs, consumer group `workers`. One stream per model
 *                       and fairness lane: a signer's jobs go to lane `sha256(address) mod LANES`,
 *                       unsigned ones to lane `anon`; workers take lanes round-robin, so one
 *                       client cannot starve the rest. Acknowledged entries are deleted, so a
 *                       stream's length is its jobs waiting or running.
 * - `job:<hashpath>`    the job of a hashpath, a random nonce (SET NX, with a TTL its waiters
 *                       renew): identical requests anywhere in the cluster follow the one job
 *                       instead of queueing another.
 * - `lease:<hashpath>`  the worker executing it (SET NX PX, renewed while it runs).
 * - `ev:<hashpath>:<nonce>`  a Stream of the job's events: `start`, `tokens` (each token's
 *                       text at a character offset, a few to an entry: dispatch-tokens.ts),
 *                       `done` (the result message), `error`, `fault`.
 * - `streamed:…` (same suffix)  set when a client that streams joins a job whose first client
 *                       did not: the worker then publishes its tokens (else only the result).
 * - `entry:…`, `followers:…`, `cancel:…` (same suffix): where the job sits in its queue, how
 *                       many clients follow it, and the flag that stops it when the last one left.
 * - `workers:<model>`   sorted set of live worker consumers (score: last beat, ms).
 * - `done:<model>`      sorted set of recent completions (score: ms), the measured drain rate.
 * - `faults`            list of determinism-fault message IDs (messages in the shared store).
 */
import { sha256Hex } from '../../core/sha256.js'

export const DEFAULT_POOL_PREFIX = 'hashbeam:pool:'
export const GROUP = 'workers'
/** Fairness lanes for signed requests (plus `anon`). */
export const LANES = 8
export const LANE_NAMES: readonly string[] = [...Array.from({ length: LANES }, (_, i) => String(i)), 'anon']
/** Window over which completions give the drain rate (retry-after). */
export const DRAIN_WINDOW_MS = 60_000

export const poolKeys = (prefix: string) => ({
  lane: (model: string, lane: string) => `${prefix}q:${model}:${lane}`,
  lanes: (model: string) => LANE_NAMES.map((lane) => `${prefix}q:${model}:${lane}`),
  job: (hashpath: string) => `${prefix}job:${hashpath}`,
  lease: (hashpath: string) => `${prefix}lease:${hashpath}`,
  events: (hashpath: string, nonce: string) => `${prefix}ev:${hashpath}:${nonce}`,
  entry: (hashpath: string, nonce: string) => `${prefix}entry:${hashpath}:${nonce}`,
  followers: (hashpath: string, nonce: string) => `${prefix}followers:${hashpath}:${nonce}`,
  cancel: (hashpath: string, nonce: string) => `${prefix}cancel:${hashpath}:${nonce}`,
  streamed: (hashpath: string, nonce: string) => `${prefix}streamed:${hashpath}:${nonce}`,
  workers: (model: string) => `${prefix}workers:${model}`,
  done: (model: string) => `${prefix}done:${model}`,
  models: `${prefix}models`,
  faults: `${prefix}faults`,
})
export type PoolKeys = ReturnType<typeof poolKeys>

/** The fairness lane of a request: by signer, or `anon`. */
export const laneOf = (signer: string | undefined): string =>
  signer === undefined ? 'anon' : String(parseInt(sha256Hex(new TextEncoder().encode(signer)).slice(0, 8), 16) % LANES)

/** Parses a stream entry's flat field list into an object. */
export function entryFields(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!
  return out
}

/** Milliseconds since an entry ID's timestamp part (`<ms>-<seq>`). */
export const entryAgeMs = (id: string, now: number): number => Math.max(0, now - Number(id.split('-')[0]))
