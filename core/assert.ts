/**
 * @module
 * Reading typed keys out of a request message, in the style of @noble/hashes' `abytes`: each
 * helper returns the value with its type or throws a 400 with the caller's stable code, so a
 * device never casts (`req.x as number`) and every refusal names the key.
 *
 * Values arrive typed (`max-tokens+integer=16`, a JSON number) or as text from a plain query
 * (`max-tokens=16`); the number and list readers take both.
 *
 * @example
 * ```ts
 * const rule = { device: 'gpu-infer', code: 'invalid-top-k' }
 * const topK = optionalNumber(req, 'top-k', rule)          // number | undefined
 * const prompt = requireString(req, 'prompt', { device: 'gpu-infer', code: 'invalid-prompt' })
 * ```
 */
import { InvalidRequestError } from './errors.js'
import type { Message, Value } from './types.js'

/** Who refuses (the message prefix, usually the device's name) and with which stable code. */
export interface KeyRule {
  readonly code: string
  readonly device: string
}

/** Throws the rule's 400. */
export function refuse(rule: KeyRule, message: string): never {
  throw new InvalidRequestError(`${rule.device}: ${message}`, { code: rule.code })
}

/** Throws the rule's 400 unless `condition` holds. */
export function check(condition: boolean, rule: KeyRule, message: string): asserts condition {
  if (!condition) refuse(rule, message)
}

const show = (v: Value): string => (JSON.stringify(v) ?? String(v)).slice(0, 40)
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/

/** A number (typed, or decimal text); undefined when absent or null. */
export function optionalNumber(req: Message, key: string, rule: KeyRule): number | undefined {
  const v = req[key]
  if (v === undefined || v === null) return undefined
  if (typeof v === 'number') return v
  if (typeof v === 'string' && DECIMAL.test(v.trim())) return Number(v)
  return refuse(rule, `"${key}" must be a number, got ${show(v)}`)
}

/** A string; undefined when absent. */
export function optionalString(req: Message, key: string, rule: KeyRule): string | undefined {
  const v = req[key]
  if (v === undefined) return undefined
  if (typeof v !== 'string') refuse(rule, `"${key}" must be a string, got ${show(v)}`)
  return v
}

/** A string that must be there. */
export function requireString(req: Message, key: string, rule: KeyRule): string {
  const v = optionalString(req, key, rule)
  if (v === undefined) refuse(rule, `"${key}" is required`)
  return v
}

/** A structured value, or JSON text of one (a query cannot carry structure). */
export function structuredValue(req: Message, key: string, rule: KeyRule): unknown {
  const v = req[key]
  if (typeof v !== 'string') return v
  try {
    return JSON.parse(v) as unknown
  } catch {
    return refuse(rule, `"${key}" is neither structured nor valid JSON`)
  }
}

/** A list (or JSON text of one); undefined when absent or null. */
export function optionalList(req: Message, key: string, rule: KeyRule): unknown[] | undefined {
  if (req[key] === undefined || req[key] === null) return undefined
  const v = structuredValue(req, key, rule)
  if (!Array.isArray(v)) refuse(rule, `"${key}" must be a list`)
  return v
}

/** A list of strings; a single string counts as a list of one. Undefined when absent. */
export function optionalStrings(req: Message, key: string, rule: KeyRule): string[] | undefined {
  const v = req[key]
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string' && !v.startsWith('[')) return [v]
  const list = optionalList(req, key, rule)!
  if (!list.every((s): s is string => typeof s === 'string')) refuse(rule, `"${key}" must be a string or a list of strings`)
  return list
}
