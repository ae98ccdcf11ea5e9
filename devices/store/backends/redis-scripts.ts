/**
 * @module
 * The Lua scripts of the Redis store. Each runs atomically on the server, which is what lets
 * several nodes share one Redis: a value, its entry in the key index, and the chunks of a large
 * value always change together.
 *
 * Record layout (see shared.ts): tag byte 0 + value, or tag byte 1 + JSON manifest
 * `{size, chunk, count, upload}`; chunk `i` lives at `<chunk prefix><upload>:<i>`. The scripts
 * touch chunk keys they compute themselves, so they need a standalone Redis (not Cluster).
 */

/** Unlinks every chunk named by a manifest record (`rec` starts with tag byte 1). */
const FREE_CHUNKS = `
local function free_chunks(rec, cprefix)
  local m = cjson.decode(string.sub(rec, 2))
  for i = 0, m.count - 1 do redis.call('UNLINK', cprefix .. m.upload .. ':' .. string.format('%d', i)) end
end
local function free_old(vkey, cprefix)
  local tag = redis.call('GETRANGE', vkey, 0, 0)
  if tag == '' then return false end
  if string.byte(tag) == 1 then free_chunks(redis.call('GET', vkey), cprefix) end
  return true
end
`

/**
 * put: KEYS = [value key, index]; ARGV = [record, member, chunk prefix].
 * A manifest is published only if all its chunks are still there; they are then made
 * permanent (they were written with a TTL so an abandoned upload cleans itself up).
 */
export const PUT_SCRIPT = `${FREE_CHUNKS}
local rec, cprefix = ARGV[1], ARGV[3]
if string.byte(rec, 1) == 1 then
  local m = cjson.decode(string.sub(rec, 2))
  for i = 0, m.count - 1 do
    if redis.call('EXISTS', cprefix .. m.upload .. ':' .. string.format('%d', i)) == 0 then
      return redis.error_reply('STORECONFLICT chunk ' .. string.format('%d', i) .. ' of upload ' .. m.upload .. ' expired')
    end
  end
  for i = 0, m.count - 1 do redis.call('PERSIST', cprefix .. m.upload .. ':' .. string.format('%d', i)) end
end
free_old(KEYS[1], cprefix)
redis.call('SET', KEYS[1], rec)
redis.call('ZADD', KEYS[2], 0, ARGV[2])
return 1
`

/**
 * Write-once put (`ifAbsent`): same KEYS and ARGV as put. Returns 0 and changes nothing when the
 * key already holds a value — the check and the write are one atomic script, so of two nodes
 * writing the same new step record at once exactly one wins. A loser's chunks keep their TTL
 * and expire on their own.
 */
export const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
${PUT_SCRIPT}`

/** delete: KEYS = [value key, index]; ARGV = [member, chunk prefix]. Returns 1 when deleted. */
export const DELETE_SCRIPT = `${FREE_CHUNKS}
redis.call('ZREM', KEYS[2], ARGV[1])
if not free_old(KEYS[1], ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
return 1
`

/** size: KEYS = [value key]. Returns the value's byte length, or -1 when absent. */
export const SIZE_SCRIPT = `
local tag = redis.call('GETRANGE', KEYS[1], 0, 0)
if tag == '' then return -1 end
if string.byte(tag) == 1 then return cjson.decode(string.sub(redis.call('GET', KEYS[1]), 2)).size end
return redis.call('STRLEN', KEYS[1]) - 1
`

/** The typed methods ioredis's `defineCommand` adds (on the client and inside `multi()`). */
export interface StoreScripts<R> {
  hbPut(valueKey: string, indexKey: string, record: Buffer, member: string, chunkPrefix: string): R
  hbCreate(valueKey: string, indexKey: string, record: Buffer, member: string, chunkPrefix: string): R
  hbDelete(valueKey: string, indexKey: string, member: string, chunkPrefix: string): R
  hbSize(valueKey: string): R
}

export const SCRIPT_DEFINITIONS = {
  hbPut: { numberOfKeys: 2, lua: PUT_SCRIPT },
  hbCreate: { numberOfKeys: 2, lua: CREATE_SCRIPT },
  hbDelete: { numberOfKeys: 2, lua: DELETE_SCRIPT },
  hbSize: { numberOfKeys: 1, lua: SIZE_SCRIPT },
} as const
