/**
 * @module
 * The handlers of `message@1.0`. Each is a pure function of (base, req).
 */
import { NotFoundError, UnprocessableError } from '../../core/errors.js'
import { CONTROL_KEYS, isPrivateKey } from '../../core/keys.js'
import { idOf, unsignedIdOf } from '../../core/id.js'
import { getKey as readKey } from '../../core/message.js'
import type { Message, Value } from '../../core/types.js'


/**
 * Why a key is often missing: the base names no device, so message@1.0 read it — a device's
 * result that should chain to the device again carries `device`, or the path names it per key.
 */
const CHAIN_HINT = ' (the base has no "device", so message@1.0 read it: a result that should chain to its device carries "device", or the path names it per key, key~device@1.0)'

/** `get&key=k`: the value of `k` in the base (case-insensitive); 404 when absent. */
export function getKey(base: Message, req: Message): Value {
  const key = req.key
  if (typeof key !== 'string' || key === '') throw new UnprocessableError('message: get needs a "key"', { code: 'missing-key' })
  const value = readKey(base, key)
  if (value === undefined) throw new NotFoundError(`message: no key "${key}"${base.device === undefined ? CHAIN_HINT : ''}`, { code: 'key-not-found', detail: { key } })
  return value
}

/** `set&k=v…`: the base with every data key of the request set on it. */
export function setKeys(base: Message, req: Message): Message {
  const out: Message = { ...base }
  let changed = false
  for (const [key, value] of Object.entries(req)) {
    if (CONTROL_KEYS.has(key)) continue
    out[key] = value
    changed = true
  }
  if (!changed) throw new UnprocessableError('message: set needs at least one key to set', { code: 'nothing-to-set' })
  // Overwriting signed content invalidates the signatures, so they go (as in HyperBEAM);
  // `commit` signs the new message again when a signed result is wanted.
  delete out.commitments
  return out
}

/** `remove&item=k` or `remove&items+list=…`: the base without those keys. */
export function removeKeys(base: Message, req: Message): Message {
  const items = Array.isArray(req.items) ? req.items : req.item !== undefined ? [req.item] : []
  if (items.length === 0) throw new UnprocessableError('message: remove needs "item" or "items"', { code: 'missing-key' })
  const out: Message = { ...base }
  for (const item of items) {
    if (typeof item !== 'string') throw new UnprocessableError('message: remove items must be key names', { code: 'invalid-key' })
    delete out[item.toLowerCase()]
  }
  if ('commitments' in out) delete out.commitments
  return out
}

/** `keys`: the base's public keys, sorted. */
export function keysOf(base: Message): Value {
  return Object.keys(base).filter((k) => !isPrivateKey(k)).sort()
}

/** `id`: the base's ID (commitments included). */
export const idOfBase = (base: Message): Value => idOf(base)

/** `unsigned-id`: the base's ID without its commitments. */
export const unsignedIdOfBase = (base: Message): Value => unsignedIdOf(base)
