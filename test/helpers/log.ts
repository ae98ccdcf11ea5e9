import type { Logger } from '../../core/types.js'

/** A logger that records entries in memory, for tests that assert on logs. */
export function memoryLogger(entries: Array<{ level: string; obj: unknown; msg?: string }> = []): Logger & { entries: typeof entries } {
  const make = (bindings: Record<string, unknown>): Logger & { entries: typeof entries } => {
    const at = (level: string) => (obj: object | string, msg?: string) => {
      entries.push({ level, obj: typeof obj === 'string' ? { ...bindings, msg: obj } : { ...bindings, ...obj }, ...(msg === undefined ? {} : { msg }) })
    }
    return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => make({ ...bindings, ...b }) }
  }
  return make({})
}
