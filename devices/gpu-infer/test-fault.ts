/**
 * @module
 * TEST ONLY: a lying worker. With HASHBEAM_TEST_FAULT_EVERY=N — refused by the node's config
 * unless HASHBEAM_TEST_MODE=1 — every N-th inference result is changed at one character:
 *
 * - `last` (default; the peer-check tests, issue 18): the last output character of the result,
 *   as a worker that skips work or tampers with answers would. Only completed results count.
 * - `first` (HASHBEAM_TEST_FAULT_AT=first; the inference pool's failover tests, issue 15): the
 *   first character, in the streamed tokens and in the result alike, as a worker whose sampling
 *   departs from its profile from the first token on. Counted when a generation starts (the
 *   choice must be made before the first token streams), so cut-off generations count too.
 *
 * The result still names the honest profile, so it is recorded, signed and receipted like any
 * other: only re-execution tells.
 */
import type { Message } from '../../core/types.js'

export type FaultAt = 'first' | 'last'
type TokenSink<Rest extends unknown[]> = (text: string, ...rest: Rest) => void

const changed = (c: string): string => (c === 'x' ? 'y' : 'x')

export function injectFault(result: Message, n: number, every: number): Message {
  if (n % every !== 0) return result
  const output = typeof result.output === 'string' ? result.output : ''
  const last = output.length === 0 ? 'a' : output[output.length - 1]!
  return { ...result, output: `${output.slice(0, -1)}${changed(last)}` }
}

/** The first code point of `text` changed ('' stays ''). */
function changeFirst(text: string): string {
  const [first, ...rest] = [...text]
  return first === undefined ? text : changed(first) + rest.join('')
}

/** Counts generations and perturbs every `every`-th one where `at` says. */
export function testFaulter(every: number, at: FaultAt) {
  let produced = 0
  return {
    /** A generation starts: the token sink to stream through, and what to do to its result. */
    begin<Rest extends unknown[]>(onToken: TokenSink<Rest> | undefined): { onToken: TokenSink<Rest> | undefined; finish(result: Message): Message } {
      if (at === 'last') return { onToken, finish: (result) => injectFault(result, ++produced, every) }
      if (++produced % every !== 0) return { onToken, finish: (result) => result }
      let first = true
      return {
        onToken: onToken === undefined ? undefined : (text, ...rest) => {
          if (first && text !== '') {
            first = false
            text = changeFirst(text)
          }
          onToken(text, ...rest)
        },
        finish: (result) => (typeof result.output === 'string' ? { ...result, output: changeFirst(result.output) } : result),
      }
    },
  }
}
