/**
 * @packageDocumentation
 * Folder: one device (its index.ts is its only door). May import: core/, identity/, this folder,
 * another device only through its index.ts, the libraries it needs; never node/ (eslint/boundaries.js).
 *
 * `checker@1.0`: a node that checks its peers (`--check-peers RATE`, docs/verification.md).
 * It samples the results a router relayed, re-executes them on its own engine from the shared
 * ledger, and reports agreement, fault proofs and determinism gaps to the router.
 *
 * - `status` → the rate, the router, and counts: seen, selected, checked, agreed, faults, gaps,
 *   skipped, errors.
 *
 * @example
 * ```sh
 * hashbeam serve --port 8740 --store redis://127.0.0.1:6379/0 --model tiny=./tiny.gguf \
 *   --check-peers 0.1 --check-router http://127.0.0.1:8734
 * curl localhost:8740/~checker@1.0/status
 * ```
 */
import type { Device, Message } from '../../core/types.js'
import { createChecker, type CheckerOptions } from './runner.js'

export { checkReceipt, differingFields, GAP_TYPE, selected, type Verdict } from './check.js'
export { createChecker, MAX_BACKLOG, type Checker, type CheckerOptions, type CheckerStats } from './runner.js'

export const CHECKER_DEVICE_NAME = 'checker@1.0'

/** checker@1.0; without options (no `--check-peers`) it only says that it is off. */
export function checkerDevice(opts: CheckerOptions | undefined): Device {
  const checker = opts === undefined ? undefined : createChecker(opts)
  return {
    name: CHECKER_DEVICE_NAME,
    info: { description: 'Spot checks of other nodes\' inference results: sampled re-execution, fault proofs, determinism gaps.' },
    // Counts change from one call to the next.
    deterministic: false,
    keys: {
      status: () => (checker === undefined
        ? { enabled: false }
        : JSON.parse(JSON.stringify({ enabled: true, rate: opts!.rate, router: opts!.router, ...checker.stats() })) as Message),
    },
    async start() {
      checker?.start()
    },
    async stop() {
      await checker?.stop()
    },
  }
}
