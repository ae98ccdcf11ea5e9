/**
 * @module
 * Token events of a pool job, several to a Redis Stream entry. One XADD per token cost the pool
 * about as much CPU as a small model's decode (the dispatcher wakes, parses and re-blocks once
 * per entry; Redis serves both sides): measured in `npm run bench -- pool`. A worker therefore
 * publishes the tokens that arrived since its last entry in one `tokens` entry, at most one
 * entry per TOKEN_BATCH_MS and at once when the last one is older — the first token of a job
 * is never held back. Each token stays its own item (text at a character offset, and what
 * came with it), so a streaming client still gets one event per token, as from a single node.
 */

/** One token as published: its text at a character offset, and what the device sent with it. */
export interface TokenItem {
  readonly at: number
  readonly text: string
  readonly extra?: Record<string, unknown>
}

/**
 * Longest a token waits before it is published (ms). 20 ms is far below what a reader of a
 * stream notices, and at a GPU's 100 tokens/s per job it still halves the entries.
 */
export const TOKEN_BATCH_MS = 20

/** The fields of a `tokens` entry: `list` is JSON, `[at, text]` or `[at, text, extra]` per token. */
export function tokenFields(items: readonly TokenItem[]): string[] {
  const list = items.map((t) => (t.extra === undefined ? [t.at, t.text] : [t.at, t.text, t.extra]))
  return ['type', 'tokens', 'list', JSON.stringify(list)]
}

/** The tokens of an event (a `tokens` entry, or a single `token` one); [] for other events. */
export function tokenItems(fields: Record<string, string | undefined>): TokenItem[] {
  if (fields.type === 'token') {
    const extra = fields.extra === undefined ? undefined : JSON.parse(fields.extra) as Record<string, unknown>
    return [{ at: Number(fields.at), text: fields.text ?? '', ...(extra === undefined ? {} : { extra }) }]
  }
  if (fields.type !== 'tokens') return []
  return (JSON.parse(fields.list ?? '[]') as Array<[number, string, Record<string, unknown>?]>)
    .map(([at, text, extra]) => (extra === undefined ? { at, text } : { at, text, extra }))
}

/**
 * Collects a job's tokens and hands them to `publish` as one entry's fields, at most once per
 * `everyMs`. `flush` publishes what waits now (before the job's last event, which must follow
 * its tokens); `discard` drops it (the job was handed back, its next run publishes it again).
 * A `held` batcher publishes nothing — no client streams the job, the result alone answers it —
 * until `release` (a streaming client joined), which publishes every token so far at once.
 */
export function tokenBatcher(publish: (fields: string[]) => void, opts: { everyMs?: number; held?: boolean } = {}) {
  const everyMs = opts.everyMs ?? TOKEN_BATCH_MS
  let held = opts.held ?? false
  let pending: TokenItem[] = []
  let lastFlush = Number.NEGATIVE_INFINITY
  let timer: NodeJS.Timeout | undefined
  const cancelTimer = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  const flush = (): void => {
    cancelTimer()
    if (held || pending.length === 0) return
    lastFlush = performance.now()
    const items = pending
    pending = []
    publish(tokenFields(items))
  }
  return {
    push(item: TokenItem): void {
      pending.push(item)
      if (held || timer !== undefined) return
      const wait = lastFlush + everyMs - performance.now()
      if (wait <= 0) flush()
      else timer = setTimeout(flush, wait)
    },
    flush,
    release(): void {
      if (!held) return
      held = false
      flush()
    },
    discard(): void {
      cancelTimer()
      pending = []
    },
  }
}

/**
 * A job's event that started the attempt which published character `at` (a determinism fault
 * names the worker whose text the re-execution contradicts, not merely the last one to try);
 * the last `start` when no token covers `at`.
 */
export function publisherOf<E extends Record<string, string | undefined>>(events: readonly E[], at: number): E | undefined {
  let attempt: E | undefined
  for (const e of events) {
    if (e.type === 'start') attempt = e
    else if (tokenItems(e).some((t) => t.at <= at && at < t.at + t.text.length)) return attempt
  }
  return attempt
}
