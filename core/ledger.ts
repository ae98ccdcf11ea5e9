/**
 * @module
 * Step records: the ledger that makes every hashpath checkable (DESIGN §5).
 *
 * Every successful step writes, under `step/<output hashpath>`, a record naming its inputs by
 * content address. With the messages stored by ID, anyone holding the store can walk a hashpath
 * back to its root, recompute every link and check every message against its ID.
 */
import { decodeCanonical, encodeCanonical } from './codec.js'
import { InvalidMessageError } from './errors.js'
import type { HashpathAlg } from './hashpath.js'

/** One executed step. */
export interface StepRecord {
  /** The output hashpath (also the record's key). */
  readonly hashpath: string
  /** The input: the base's hashpath when it had one, else the base's ID (the chain's root). */
  readonly base: string
  /** ID of the request message (stored under `msg/<id>`). */
  readonly request: string
  /** The device that ran the step, `name@version`. */
  readonly device: string
  /** The key that was resolved. */
  readonly key: string
  /** ID of the result message (a literal is stored wrapped, see core/message.ts). */
  readonly result: string
  /** False when the step is not reproducible (replay reports it as unverifiable). */
  readonly deterministic: boolean
  /** The hashpath algorithm used to compute `hashpath` from `base`. */
  readonly alg: HashpathAlg
}

const FIELDS = ['hashpath', 'base', 'request', 'device', 'key', 'result'] as const

/** Canonical bytes of a record. */
export const encodeStep = (record: StepRecord): Uint8Array => encodeCanonical({ ...record })

/** Parses and checks a stored record. */
export function decodeStep(bytes: Uint8Array): StepRecord {
  const value = decodeCanonical(bytes) as Record<string, unknown>
  if (value === null || typeof value !== 'object') throw new InvalidMessageError('ledger: step record is not a map')
  for (const field of FIELDS) {
    if (typeof value[field] !== 'string') throw new InvalidMessageError(`ledger: step record lacks "${field}"`)
  }
  if (typeof value.deterministic !== 'boolean') throw new InvalidMessageError('ledger: step record lacks "deterministic"')
  const alg = value.alg === 'accumulate-256' ? 'accumulate-256' : 'sha-256-chain'
  return { ...(value as unknown as StepRecord), alg }
}
