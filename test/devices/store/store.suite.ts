/**
 * @module
 * The one conformance suite every store backend passes (DESIGN §10). A backend's test file
 * calls `storeConformance(name, makeStore, capabilities)`; each test gets a fresh store.
 *
 * `reopen()` closes the store and opens it again on the same data (for a non-durable backend,
 * a fresh empty one), so durability is checked the way a restarted node would see it.
 */
import { afterEach, beforeEach, describe } from 'vitest'
import type { Store } from '../../../core/store.js'
import { basicTests } from './suite-basic.js'
import { batchTests } from './suite-batch.js'
import { listTests } from './suite-list.js'
import { propertyTests } from './suite-property.js'
import { streamingTests } from './suite-streaming.js'

/** What a backend's test file hands the suite for each test. */
export interface StoreHarness {
  readonly store: Store
  /** Closes the current store and opens a new one over the same data. */
  reopen(): Promise<Store>
  /** Closes whatever is open and deletes the data (directories, Redis keys). */
  cleanup(): Promise<void>
}

/** What the backend promises beyond the interface; the suite checks exactly that. */
export interface StoreCapabilities {
  /** Data survives close and reopen. */
  readonly durable: boolean
  /** A batch is all-or-nothing for concurrent readers. */
  readonly atomicBatch: boolean
}

/** The view of the current test's store that the test groups use. */
export interface SuiteContext {
  readonly store: Store
  reopen(): Promise<Store>
  readonly caps: StoreCapabilities
}

export function storeConformance(
  name: string,
  makeStore: () => Promise<StoreHarness>,
  caps: StoreCapabilities = { durable: true, atomicBatch: true },
): void {
  describe(`store conformance: ${name}`, () => {
    let harness: StoreHarness | undefined
    let current: Store | undefined
    const ctx: SuiteContext = {
      get store() {
        if (current === undefined) throw new Error('no store: the harness failed to open one')
        return current
      },
      async reopen() {
        current = await harness!.reopen()
        return current
      },
      caps,
    }
    beforeEach(async () => {
      harness = await makeStore()
      current = harness.store
    })
    afterEach(async () => {
      await harness?.cleanup()
      harness = undefined
      current = undefined
    })

    basicTests(ctx)
    listTests(ctx)
    batchTests(ctx)
    streamingTests(ctx)
    propertyTests(ctx)
  })
}
