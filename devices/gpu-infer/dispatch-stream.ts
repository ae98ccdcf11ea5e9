/**
 * @module
 * Continuity of a streamed job across workers (issue 15, "failover mid-job"). Tokens go out as
 * text at a character offset. A worker that takes over a job re-executes it from the start with
 * the same seed and must reproduce, character for character, what earlier attempts already
 * published before it publishes more; the dispatcher forwards each character once, in order.
 * Pure: no Redis, no clock.
 */

/** What a re-execution produced against what was already published. */
export type Continuation =
  | { readonly kind: 'fresh'; readonly at: number; readonly text: string }
  | { readonly kind: 'replayed' }
  | { readonly kind: 'fault'; readonly at: number; readonly published: string; readonly reproduced: string }

/**
 * Checks generated text against `published` (the earlier attempts' text, in order) as it
 * arrives. `push` says which part is new and must be published at which offset; a character
 * that differs from the published one is a determinism fault (reported once, with the spans).
 */
export function continuation(published: string) {
  let produced = ''
  let faulted = false
  const fault = (at: number): Continuation => {
    faulted = true
    return { kind: 'fault', at, published: published.slice(at, at + 64), reproduced: produced.slice(at, at + 64) }
  }
  return {
    push(text: string): Continuation {
      if (faulted) return { kind: 'replayed' }
      const start = produced.length
      produced += text
      const overlap = Math.min(produced.length, published.length)
      for (let i = start; i < overlap; i++) if (produced[i] !== published[i]) return fault(i)
      if (produced.length <= published.length) return { kind: 'replayed' }
      const from = Math.max(start, published.length)
      return { kind: 'fresh', at: from, text: produced.slice(from) }
    },
    /** At the end: an output shorter than what was published is a fault too. */
    finish(): Continuation | undefined {
      if (faulted) return undefined
      return produced.length < published.length ? fault(produced.length) : undefined
    },
  }
}

/**
 * The dispatcher's side: forwards each character of a job's token events once, in order,
 * whichever attempt published it. Returns the text to send now ('' for a repeat), or undefined
 * when an event skips ahead of what was sent (a gap: never expected, reported as an error).
 */
export function forwarder() {
  let sent = 0
  return {
    accept(at: number, text: string): string | undefined {
      if (at > sent) return undefined
      const end = at + text.length
      if (end <= sent) return ''
      const fresh = text.slice(sent - at)
      sent = end
      return fresh
    },
    sentCount: (): number => sent,
  }
}
