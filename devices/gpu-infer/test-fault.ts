/**
 * @module
 * TEST ONLY: a lying worker for the peer-check tests (issue 18). With HASHBEAM_TEST_FAULT_EVERY=N
 * — refused by the node's config unless HASHBEAM_TEST_MODE=1 — every N-th inference result has
 * its last output token changed (its last character replaced), as a worker that skips work or
 * tampers with answers would. The result still names the honest profile, so it is recorded,
 * signed and receipted like any other: only re-execution tells.
 */
import type { Message } from '../../core/types.js'

export function injectFault(result: Message, n: number, every: number): Message {
  if (n % every !== 0) return result
  const output = typeof result.output === 'string' ? result.output : ''
  const last = output.length === 0 ? 'a' : output[output.length - 1]!
  const changed = last === 'x' ? 'y' : 'x'
  return { ...result, output: `${output.slice(0, -1)}${changed}` }
}
