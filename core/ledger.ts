/**
 * @module
 * Step records: the ledger that makes every hashpath checkable (DESIGN §5).
 *
 * Every successful step writes, under `step/<output hashpath>`, a record naming its inputs by
 * content address. With the messages stored by ID, anyone holding the store can walk a hashpath
 * back to its root, recompute every link and check every message against its ID.
 */
import { decodeCanonical, decodeMessage, encodeCanonical } from './codec.js'
import { CorruptionError, NotFoundError } from './errors.js'
import type { HashpathAlg } from './hashpath.js'
import { EncodedMessage, idOfBytes } from './id.js'
import { sha256Base64Url } from './sha256.js'
import { messageKey, stepKey, type BatchOp, type Store } from './store.js'
import type { Message } from './types.js'
import { asciiBytes, latin1Slice } from './bytes.js'

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
  /**
   * Who stands behind the record (DESIGN §5, docs/security.md "Ledger provenance"): the address
   * of the node that wrote it, or of the node whose signed export it was imported from. Empty
   * for a record written before records named their writer: nobody vouches for it.
   */
  readonly writer: string
}

/**
 * Whose step records may answer a request (docs/security.md, "Ledger provenance"). A record
 * by anyone else is evidence to check, never an answer: the step is re-executed.
 */
export interface LedgerTrust {
  /** This node's address: the writer of every record it writes. */
  readonly self: string
  /** True when a record by `writer` may answer from the ledger (this node's own always do). */
  trusts(writer: string): boolean
}

const FIELDS = ['hashpath', 'base', 'request', 'device', 'key', 'result', 'alg'] as const

/**
 * Canonical bytes of a record, sealed with `check`. Most fields are also derivable from the
 * messages the record names, but `deterministic` is not: the seal makes any flipped byte in a
 * record detectable, not just the ones that change a hash. The seal is sha256 over the fields
 * joined by newlines in a fixed order (none may contain one), so checking it costs one small
 * hash, not a re-encoding: verify reads a record per step and must stay fast.
 *
 * The seal is no signature: anyone can compute it. Whether a record is believed depends on its
 * `writer` — this node, or a signed export's signer the operator trusts — never on the seal.
 * A record without a writer (written before provenance existed) keeps the old layout and seal.
 */
export function encodeStep(record: StepRecord): Uint8Array {
  return encodeCanonical({ ...pickFields(record), check: sealOf(record) })
}

function sealOf(record: StepRecord): string {
  let text = ''
  for (const field of FIELDS) {
    const value = record[field]
    if (value.includes('\n')) throw new CorruptionError('ledger: a step record field holds a newline', { code: 'corrupt-record' })
    text += `${value}\n`
  }
  text += String(record.deterministic)
  return sha256Base64Url(record.writer === '' ? text : `${text}\n${record.writer}`)
}

function pickFields(record: StepRecord): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = { deterministic: record.deterministic }
  for (const field of FIELDS) out[field] = record[field]
  if (record.writer !== '') out.writer = record.writer
  return out
}

// The record's keys in DAG-CBOR's canonical order (shorter first, then bytewise), as encodeStep
// writes them; `deterministic` is the one boolean. A record with a writer has ten keys.
const LEGACY_KEYS = ['alg', 'key', 'base', 'check', 'device', 'result', 'request', 'hashpath', 'deterministic'] as const
const RECORD_KEYS = ['alg', 'key', 'base', 'check', 'device', 'result', 'writer', 'request', 'hashpath', 'deterministic'] as const
const keyBytes = (keys: readonly string[]) => keys.map((key) => Uint8Array.from([0x60 + key.length, ...asciiBytes(key)]))
const LAYOUTS: Readonly<Record<number, { keys: readonly string[]; bytes: Uint8Array[] }>> = {
  0xa9: { keys: LEGACY_KEYS, bytes: keyBytes(LEGACY_KEYS) },
  0xaa: { keys: RECORD_KEYS, bytes: keyBytes(RECORD_KEYS) },
}
const CBOR_FALSE = 0xf4
const CBOR_TRUE = 0xf5

/**
 * Reads a record laid out exactly as encodeStep writes it — a 9-entry map, its keys in
 * canonical order, ASCII text values with shortest length headers, one boolean — without a
 * general CBOR decode, which was a quarter of a verify step. Anything else returns undefined
 * and goes the general way, so this changes how fast a record is read, never what is accepted.
 */
function readRecordLayout(bytes: Uint8Array): Record<string, unknown> | undefined {
  const layout = LAYOUTS[bytes[0]!]
  if (layout === undefined) return undefined
  const out: Record<string, unknown> = {}
  let at = 1
  for (let k = 0; k < layout.keys.length; k++) {
    const keyBytes = layout.bytes[k]!
    for (let i = 0; i < keyBytes.length; i++) if (bytes[at + i] !== keyBytes[i]) return undefined
    at += keyBytes.length
    const head = bytes[at]
    if (head === undefined) return undefined
    if (layout.keys[k] === 'deterministic') {
      if (head !== CBOR_FALSE && head !== CBOR_TRUE) return undefined
      out.deterministic = head === CBOR_TRUE
      at += 1
      continue
    }
    let length: number
    if (head >= 0x60 && head < 0x78) { length = head - 0x60; at += 1 }
    else if (head === 0x78 && bytes[at + 1]! >= 24) { length = bytes[at + 1]!; at += 2 }
    else if (head === 0x79 && (bytes[at + 1]! << 8 | bytes[at + 2]!) >= 256) { length = bytes[at + 1]! << 8 | bytes[at + 2]!; at += 3 }
    else return undefined
    if (at + length > bytes.length) return undefined
    for (let i = at; i < at + length; i++) if (bytes[i]! >= 0x80) return undefined // ASCII reads the same as latin1
    out[layout.keys[k]!] = latin1Slice(bytes, at, at + length)
    at += length
  }
  return at === bytes.length ? out : undefined
}

/** Parses a stored record and checks its seal; a damaged record is a CorruptionError. */
export function decodeStep(bytes: Uint8Array): StepRecord {
  let value: Record<string, unknown>
  try {
    value = readRecordLayout(bytes) ?? decodeCanonical(bytes) as Record<string, unknown>
  } catch (cause) {
    throw new CorruptionError('ledger: step record does not decode', { cause, code: 'corrupt-record' })
  }
  if (value === null || typeof value !== 'object') throw new CorruptionError('ledger: step record is not a map', { code: 'corrupt-record' })
  for (const field of FIELDS) {
    if (typeof value[field] !== 'string') throw new CorruptionError(`ledger: step record lacks "${field}"`, { code: 'corrupt-record' })
  }
  if (typeof value.deterministic !== 'boolean') throw new CorruptionError('ledger: step record lacks "deterministic"', { code: 'corrupt-record' })
  if (value.alg !== 'sha-256-chain' && value.alg !== 'accumulate-256') throw new CorruptionError('ledger: step record has an unknown alg', { code: 'corrupt-record' })
  if (value.writer === undefined) value.writer = ''
  else if (typeof value.writer !== 'string' || value.writer === '') throw new CorruptionError('ledger: step record has a malformed "writer"', { code: 'corrupt-record' })
  const record = value as unknown as StepRecord
  if (value.check !== sealOf(record)) {
    throw new CorruptionError(`ledger: step record ${String(value.hashpath).slice(0, 100)} fails its integrity check`, { code: 'corrupt-record' })
  }
  // A fixed-shape literal, not a copy loop: verify decodes one record per step.
  return {
    hashpath: record.hashpath, base: record.base, request: record.request, device: record.device, key: record.key,
    result: record.result, deterministic: record.deterministic, alg: record.alg, writer: record.writer,
  }
}

/** Reads a message by ID and checks that its bytes still hash to that ID. */
export async function loadMessage(store: Store, id: string): Promise<Message> {
  const bytes = await store.get(messageKey(id))
  if (bytes === undefined) throw new NotFoundError(`store: no message ${id}`, { code: 'message-not-found', detail: { id } })
  if (idOfBytes(bytes) !== id) {
    throw new CorruptionError(`store: message ${id} does not hash to its ID`, { detail: { id } })
  }
  return decodeMessage(bytes)
}

/** Reads the step record of a hashpath, or undefined. */
export async function loadStep(store: Store, hashpath: string): Promise<StepRecord | undefined> {
  const bytes = await store.get(stepKey(hashpath))
  return bytes === undefined ? undefined : decodeStep(bytes)
}

/** The store writes that keep messages by ID (those already encoded are not encoded again). */
export function messageWrites(messages: readonly (Message | EncodedMessage)[]): BatchOp[] {
  return messages.map((message) => {
    const encoded = message instanceof EncodedMessage ? message : EncodedMessage.of(message)
    return { type: 'put', key: messageKey(encoded.id), value: encoded.bytes }
  })
}

/**
 * The store writes that record one step: its messages by ID, then the record by hashpath.
 * The record is written once (`ifAbsent`) unless `replace` is set (a record the node means to
 * supersede, e.g. one written by other code): a record that is already there stays.
 */
export function stepWrites(messages: readonly (Message | EncodedMessage)[], record: StepRecord, replace = false): BatchOp[] {
  return [...messageWrites(messages), { type: 'put', key: stepKey(record.hashpath), value: encodeStep(record), ifAbsent: !replace }]
}
