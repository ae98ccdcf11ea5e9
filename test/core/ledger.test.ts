import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isAoError } from '../../core/errors.js'
import { decodeStep, encodeStep, type StepRecord } from '../../core/ledger.js'

// Text that may hold anything but a newline (the seal joins fields with newlines), including
// non-ASCII and lengths on both sides of CBOR's 24- and 256-byte length headers.
const field = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ minLength: 250, maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
).filter((s) => !s.includes('\n'))

const record: fc.Arbitrary<StepRecord> = fc.record({
  hashpath: field, base: field, request: field, device: field, key: field, result: field,
  deterministic: fc.boolean(), alg: fc.constantFrom('sha-256-chain' as const, 'accumulate-256' as const),
  writer: fc.oneof(fc.constant(''), field.filter((s) => s !== '')),
})

const example: StepRecord = {
  hashpath: 'A'.repeat(43) + '/hello', base: 'B'.repeat(43), request: 'C'.repeat(43), device: 'message@1.0',
  key: 'hello', result: 'D'.repeat(43), deterministic: true, alg: 'sha-256-chain', writer: 'W'.repeat(43),
}

const rejects = (bytes: Uint8Array): boolean => {
  try {
    decodeStep(bytes)
    return false
  } catch (err) {
    return isAoError(err) && err.code === 'corrupt-record'
  }
}

describe('ledger: sealed step records', () => {
  it('decodes what it encodes, for any fields', () => {
    fc.assert(fc.property(record, (r) => {
      expect(decodeStep(encodeStep(r))).toEqual(r)
    }), { numRuns: 500 })
  })

  it('provenance: the writer is sealed with the record; a record from before writers existed reads as written by nobody', () => {
    const { writer: _writer, ...legacy } = example
    // The layout and seal of a record written before provenance: nine keys, no writer.
    const old = encodeStep({ ...legacy, writer: '' })
    expect(dagCbor.decode(old)).not.toHaveProperty('writer')
    expect(decodeStep(old)).toEqual({ ...legacy, writer: '' })
    // Re-labelling the writer (or adding one to an old record) without the seal is detected.
    const sealed = dagCbor.decode(encodeStep(example)) as Record<string, unknown>
    expect(rejects(dagCbor.encode({ ...sealed, writer: 'X'.repeat(43) }))).toBe(true)
    expect(rejects(dagCbor.encode({ ...(dagCbor.decode(old) as object), writer: 'W'.repeat(43) }))).toBe(true)
    expect(rejects(dagCbor.encode({ ...sealed, writer: 42 }))).toBe(true)
  })

  it('detects any single flipped byte', () => {
    const bytes = encodeStep(example)
    fc.assert(fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
      const damaged = new Uint8Array(bytes)
      damaged[at]! ^= xor
      expect(rejects(damaged)).toBe(true)
    }), { numRuns: 1000 })
  })

  it('detects a truncated or extended record', () => {
    const bytes = encodeStep(example)
    for (let n = 0; n < bytes.length; n++) expect(rejects(bytes.subarray(0, n))).toBe(true)
    expect(rejects(Uint8Array.from([...bytes, 0]))).toBe(true)
  })

  // The reader has a fast path for the exact layout encodeStep writes; anything else takes the
  // general DAG-CBOR decoder, so the accepted set is the same either way.
  it('reads a sealed record the same when it comes through the general decoder', () => {
    const sealed = dagCbor.decode(encodeStep(example)) as Record<string, unknown>
    // A non-canonical length header for one field: strict DAG-CBOR refuses it.
    const bytes = encodeStep(example)
    const keyAt = Buffer.from(bytes).indexOf(Buffer.from([0x63, ...Buffer.from('key')]))
    const value = 'hello'
    const longForm = Uint8Array.from([...bytes.subarray(0, keyAt + 4), 0x78, value.length, ...Buffer.from(value), ...bytes.subarray(keyAt + 4 + 1 + value.length)])
    expect(rejects(longForm)).toBe(true)
    // The same fields with an extra key: the seal still matches, the shape is not a record's.
    const extra = dagCbor.encode({ ...sealed, extra: 'x' })
    expect(decodeStep(extra)).toEqual(example)
    // Missing the seal.
    const { check: _seal, ...unsealed } = sealed
    expect(rejects(dagCbor.encode(unsealed))).toBe(true)
  })
})
