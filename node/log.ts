/**
 * @module
 * Structured logs: pino, one JSON object per line on stdout (or stderr for CLI commands whose
 * stdout is their answer). Level from `HASHBEAM_LOG_LEVEL` (default `info`; `silent` for none).
 */
import { pino } from 'pino'
import type { Logger } from '../core/types.js'

export interface LogInit {
  level?: string
  /** 1 = stdout, 2 = stderr. */
  fd?: 1 | 2
}

export function createLogger(init: LogInit = {}): Logger {
  const level = init.level ?? process.env.HASHBEAM_LOG_LEVEL ?? 'info'
  return pino({ level, base: { app: 'hashbeam' } }, pino.destination({ fd: init.fd ?? 1, sync: false })) as unknown as Logger
}
