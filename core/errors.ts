/**
 * @module
 * Every error Hashbeam raises on purpose. Each class carries the HTTP status it maps to and a
 * stable machine-readable `code` (clients switch on the code, never on the message text).
 * Compare by `err.code` or `isAoError(err)`: `instanceof` breaks across duplicated module copies.
 *
 * Messages are prefixed by layer (`path:`, `codec:`, `resolve:`, …) so logs stay grep-able.
 */

/** Options shared by every Hashbeam error. */
export interface AoErrorOptions {
  cause?: unknown
  /** Extra structured detail returned to the client (must be JSON-safe, never secrets). */
  detail?: Record<string, unknown>
  /** Overrides the class's default stable code (e.g. `path-segment-too-long`). */
  code?: string
}

/** Base class: an error with an HTTP status and a stable code. */
export class AoError extends Error {
  readonly status: number
  readonly code: string
  readonly detail?: Record<string, unknown>

  constructor(status: number, code: string, message: string, options: AoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AoError'
    this.status = status
    this.code = options.code ?? code
    if (options.detail !== undefined) this.detail = options.detail
  }

  /** The JSON body the HTTP layer sends: `{status, code, message, ...detail}`. */
  toJSON(): Record<string, unknown> {
    return { status: this.status, code: this.code, message: this.message, ...this.detail }
  }
}

/** Thrown when a path, key or value is malformed (400). */
export class InvalidRequestError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(400, 'invalid-request', message, options)
    this.name = 'InvalidRequestError'
  }
}

/** Thrown when a message fails the canonical encoding rules (400). */
export class InvalidMessageError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(400, 'invalid-message', message, options)
    this.name = 'InvalidMessageError'
  }
}

/** Thrown when a signature or commitment does not verify (400). */
export class InvalidSignatureError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(400, 'invalid-signature', message, options)
    this.name = 'InvalidSignatureError'
  }
}

/** Thrown when the caller may not do this (403). */
export class ForbiddenError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(403, 'forbidden', message, options)
    this.name = 'ForbiddenError'
  }
}

/** Thrown when a key, message, device, model or record does not exist (404). */
export class NotFoundError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(404, 'not-found', message, options)
    this.name = 'NotFoundError'
  }
}

/** Thrown when a computation was cancelled: the client left or the time limit passed (408). */
export class RequestAbortedError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(408, 'request-aborted', message, options)
    this.name = 'RequestAbortedError'
  }
}

/** Thrown when the HTTP method does not fit the key (405). */
export class MethodNotAllowedError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(405, 'method-not-allowed', message, options)
    this.name = 'MethodNotAllowedError'
  }
}

/** Thrown when no reply format the client accepts can be written (406). */
export class NotAcceptableError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(406, 'not-acceptable', message, options)
    this.name = 'NotAcceptableError'
  }
}

/** Thrown when a request body exceeds its limit (413). */
export class PayloadTooLargeError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(413, 'payload-too-large', message, options)
    this.name = 'PayloadTooLargeError'
  }
}

/** Thrown when a path exceeds the configured length or step count (414). */
export class PathTooLongError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(414, 'path-too-long', message, options)
    this.name = 'PathTooLongError'
  }
}

/** Thrown when a range request cannot be satisfied (416). */
export class RangeNotSatisfiableError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(416, 'range-not-satisfiable', message, options)
    this.name = 'RangeNotSatisfiableError'
  }
}

/** Thrown when a device understood the request but refuses its input (422). */
export class UnprocessableError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(422, 'unprocessable', message, options)
    this.name = 'UnprocessableError'
  }
}

/** Thrown when independent answers to one request disagree (409). */
export class ConflictError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(409, 'conflict', message, options)
    this.name = 'ConflictError'
  }
}

/** Thrown when a server-side failure is not the caller's fault (500). */
export class InternalError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(500, 'internal', message, options)
    this.name = 'InternalError'
  }
}

/** Thrown when stored bytes no longer match their content address (500). */
export class CorruptionError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(500, 'store-corruption', message, options)
    this.name = 'CorruptionError'
  }
}

/** Thrown when a device is busy (full queue) or not ready (503). */
export class UnavailableError extends AoError {
  readonly retryAfterSeconds?: number
  constructor(message: string, options?: AoErrorOptions & { retryAfterSeconds?: number }) {
    super(503, 'unavailable', message, options)
    this.name = 'UnavailableError'
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds
  }
}

/**
 * Thrown when two executions of one deterministic step disagree where they must not, e.g. a
 * pool worker re-running a job differs from what another worker already streamed (502).
 */
export class DeterminismFaultError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(502, 'determinism-fault', message, options)
    this.name = 'DeterminismFaultError'
  }
}

/** Thrown for `cache-control: only-if-cached` when nothing is cached (504). */
export class CacheMissError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(504, 'cache-miss', message, options)
    this.name = 'CacheMissError'
  }
}

/** Thrown when sub-resolution nests deeper than the limit (508). */
export class RecursionLimitError extends AoError {
  constructor(message: string, options?: AoErrorOptions) {
    super(508, 'recursion-limit', message, options)
    this.name = 'RecursionLimitError'
  }
}

/** True for any Hashbeam error, even one from another copy of this module. */
export function isAoError(err: unknown): err is AoError {
  return (
    typeof err === 'object' && err !== null &&
    typeof (err as AoError).status === 'number' && typeof (err as AoError).code === 'string' &&
    err instanceof Error
  )
}

/**
 * Thrown when the node cannot start as configured (a bad option, wallet file or device module).
 * It is no HTTP answer: `hashbeam serve` prints the message and exits with status 2.
 */
export class ConfigError extends Error {
  readonly code: string
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ConfigError'
    this.code = options.code ?? 'invalid-config'
  }
}

/** True for a startup configuration failure, even one from another copy of this module. */
export const isConfigError = (err: unknown): err is ConfigError =>
  err instanceof Error && err.name === 'ConfigError' && typeof (err as ConfigError).code === 'string'
