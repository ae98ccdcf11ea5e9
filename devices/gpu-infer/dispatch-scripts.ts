/**
 * @module
 * The pool's multi-step Redis operations as Lua scripts, one round trip each. On one machine a
 * command costs its sender a loopback write (the kernel's TCP work on both ends is charged to
 * the writer) whatever it carries: the dispatcher spent most of its pool CPU in those writes
 * (`npm run bench -- pool`). Scripts are atomic, which also removes the races the separate
 * commands had to retry around.
 */
import type { Redis } from 'ioredis'
import { GROUP } from './dispatch-keys.js'

/**
 * Take or join the job of a hashpath, and enqueue it when taken — bounded per model.
 * KEYS = [workers:<model>, job:<hp>, entry:<hp>:<nonce>, followers:<hp>:<nonce>, the model's
 * lane streams…, the target lane]; ARGV = [oldest live worker beat (ms), nonce, TTL ms, max jobs
 * queued or running, lane name, field, value, field, value…]. Returns one of
 * `['no-worker']`, `['join', nonce]` (follow that job), `['full']`, `['queued', entry ID]`
 * (taken: the job key holds our nonce, the entry is queued, we are its first follower).
 * Creates the consumer group on a new lane stream.
 */
export const TAKE_OR_ENQUEUE_SCRIPT = `
if redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf') == 0 then return {'no-worker'} end
local existing = redis.call('GET', KEYS[2])
if existing then return {'join', existing} end
local total = 0
for i = 5, #KEYS - 1 do total = total + redis.call('XLEN', KEYS[i]) end
if total >= tonumber(ARGV[4]) then return {'full'} end
local target = KEYS[#KEYS]
if redis.call('EXISTS', target) == 0 then
  redis.call('XGROUP', 'CREATE', target, '${GROUP}', '0', 'MKSTREAM')
end
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
local id = redis.call('XADD', target, '*', unpack(fields))
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[3], ARGV[5] .. ' ' .. id, 'PX', ARGV[3])
redis.call('SET', KEYS[4], 1, 'PX', ARGV[3])
return {'queued', id}
`

/**
 * A worker's next new job: the first lane, in the order given (the caller rotates it for
 * round-robin), with an entry no consumer was given yet. KEYS = lane streams; ARGV =
 * [group, consumer]. Returns [index of the lane in KEYS, entry ID, flat fields], or false.
 */
export const NEXT_JOB_SCRIPT = `
for i = 1, #KEYS do
  local got = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[i], '>')
  if got then
    local entry = got[1][2][1]
    return {i - 1, entry[1], entry[2]}
  end
end
return false
`

/**
 * The end of a job on its worker: acknowledge and drop its entry, free the lease, keep its
 * events a minute for late followers, drop the job key if it is still this job's (later
 * identical requests then read the ledger), and count a completion for the drain rate.
 * KEYS = [lane, lease, events, job, done:<model>]; ARGV = [group, entry ID, events TTL ms,
 * nonce, completion time (ms) or '' when the job did not complete, completion member].
 */
export const FINISH_JOB_SCRIPT = `
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
if redis.call('GET', KEYS[4]) == ARGV[4] then redis.call('DEL', KEYS[4]) end
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[5], ARGV[5], ARGV[6]) end
return 1
`

/** The worker's scripts as commands of its connection (ioredis sends EVALSHA, EVAL once if unknown). */
export interface WorkerScripts {
  poolNextJob(lanes: number, ...args: string[]): Promise<[number, string, string[]] | null>
  poolFinishJob(keys: number, ...args: Array<string | number>): Promise<number>
}

export function withWorkerScripts(client: Redis): Redis & WorkerScripts {
  client.defineCommand('poolNextJob', { lua: NEXT_JOB_SCRIPT })
  client.defineCommand('poolFinishJob', { lua: FINISH_JOB_SCRIPT })
  return client as Redis & WorkerScripts
}
