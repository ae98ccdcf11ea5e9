/**
 * @module
 * A device's code is part of its identity. A device that names its implementation
 * (`Device.implementation`: the sha256 of a `--device` module, the package's `hashbeam@<version>`
 * for a built-in) has it recorded beside each step it computes, under `impl/<hashpath>`; the
 * ledger answers such a step only while the same implementation is loaded, so an edited device
 * or an upgraded node computes afresh instead of serving what the old code wrote, and replay
 * names the change (`implementation-changed`) instead of a fault.
 *
 * The key sits outside the step record, so records and verify keep their format; an export
 * names each step's implementation in its signed manifest, and an import records it.
 */
import type { BatchOp, Store } from './store.js'

const UTF8 = new TextEncoder()
const TEXT = new TextDecoder()

/** Store key of the implementation that computed a step. */
export const implementationKey = (hashpath: string): string => `impl/${hashpath}`

/** The write recording which implementation computed a step. */
export const implementationWrite = (hashpath: string, implementation: string): BatchOp =>
  ({ type: 'put', key: implementationKey(hashpath), value: UTF8.encode(implementation) })

/** The implementation recorded for a step; undefined when none was (a built-in, or older data). */
export async function recordedImplementation(store: Store, hashpath: string): Promise<string | undefined> {
  const bytes = await store.get(implementationKey(hashpath))
  return bytes === undefined ? undefined : TEXT.decode(bytes)
}
