/**
 * @module
 * Progress of long CLI work (model generation and loading, export/import/verify/replay of long
 * chains), written to stderr so stdout stays the command's answer.
 *
 * - On a terminal: one line redrawn in place (`\r`), at most ten times a second — a bar with a
 *   percentage when the total is known, a running count when it is not.
 * - Anywhere else (a pipe, a log file, CI): plain lines, one per tenth of a known total or one
 *   every few seconds, so a log shows the work moving without a flood.
 * Both end with a line saying what was done and how long it took.
 */

export interface ProgressOptions {
  /** Where to write (default process.stderr); `isTTY` picks the form. */
  readonly out?: { readonly isTTY?: boolean; write(text: string): unknown }
  /** Formats an amount: steps, bytes… (default: an integer with thousands separators). */
  readonly format?: (n: number) => string
  /** Plain lines for an unknown total come this often (ms). */
  readonly everyMs?: number
  /** The clock (tests). */
  readonly now?: () => number
}

export interface Progress {
  /** `done` so far, of `total` when known. */
  update(done: number, total?: number): void
  /** The closing line; `note` is appended (e.g. "valid"). */
  finish(note?: string): void
}

const BAR = 28
const count = (n: number): string => Math.round(n).toLocaleString('en')
export const megabytes = (n: number): string => `${(n / 1e6).toFixed(1)} MB`

export function progress(label: string, opts: ProgressOptions = {}): Progress {
  const out = opts.out ?? process.stderr
  const tty = out.isTTY === true
  const format = opts.format ?? count
  const now = opts.now ?? (() => performance.now())
  const everyMs = opts.everyMs ?? 2_000
  const started = now()
  let lastDraw = -Infinity
  let lastTenth = 0 // no line for 0%
  let done = 0
  let total: number | undefined
  let drawn = false

  const line = (): string => {
    if (total === undefined || total <= 0) return `${label}: ${format(done)}`
    const fraction = Math.min(1, done / total)
    const filled = Math.round(fraction * BAR)
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${format(done)}/${format(total)}`
  }

  return {
    update(n, t) {
      done = n
      if (t !== undefined) total = t
      const at = now()
      if (tty) {
        if (at - lastDraw < 100) return
        lastDraw = at
        drawn = true
        out.write(`\r${line()}\x1b[K`)
        return
      }
      if (total !== undefined && total > 0) {
        const tenth = Math.floor((10 * Math.min(done, total)) / total)
        if (tenth <= lastTenth || tenth >= 10) return
        lastTenth = tenth
      } else {
        if (at - lastDraw < everyMs) return
        if (lastDraw === -Infinity) { lastDraw = at; return } // nothing worth a line yet
      }
      lastDraw = at
      out.write(`${line()}\n`)
    },
    finish(note) {
      const seconds = ((now() - started) / 1000).toFixed(1)
      const summary = `${label}: ${format(done)}${total === undefined ? '' : ` of ${format(total)}`} in ${seconds} s${note === undefined ? '' : `, ${note}`}`
      out.write(tty && drawn ? `\r${summary}\x1b[K\n` : `${summary}\n`)
    },
  }
}
