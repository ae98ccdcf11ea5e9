/**
 * @module
 * Does a verified request signature bind the request it arrived with — its target and its
 * body — so that nobody can move it to another path, query or body? A privileged action needs
 * that (DESIGN §11; node/request-caller.ts). Ordinary requests do not: AO clients sign their
 * headers only (interop.md §1.3), and such a signature still says who sent those keys.
 *
 * The RFC 9421 shape binds when it covers `@path`, plus `@query` when the request has a query
 * (`@request-target` and `@target-uri` hold both), and `content-digest` when there is a body.
 * Derived components are computed from the request itself when the signature base is built,
 * so covering one is binding it; the digest is checked against the body whether signed or not.
 * `@method` binds too when covered, and is not required: HyperBEAM's clients do not sign it.
 *
 * Other shapes plug in here: HyperBEAM's base, which lists `"@path"` but writes the line as
 * `"path": <value>`, binds when that value is the request's path.
 */
import { HEADER } from './constants.js'
import type { VerifiedSignature } from './verify.js'

/** What the binding rule needs to know about the request. */
export interface RequestShape {
  /** The request has a non-empty query string. */
  readonly hasQuery: boolean
  /** The request has a non-empty body. */
  readonly hasBody: boolean
}

const TARGET_COMPONENTS = ['@request-target', '@target-uri']

/**
 * Undefined when the signature binds the request's target and body; otherwise what it leaves
 * out, in words (for a 403 message).
 */
export function unboundPartOf(signature: Pick<VerifiedSignature, 'covered'>, request: RequestShape): string | undefined {
  const covered = new Set(signature.covered)
  const wholeTarget = TARGET_COMPONENTS.some((name) => covered.has(name))
  if (!wholeTarget && !covered.has('@path')) return 'the signature does not cover @path'
  if (request.hasQuery && !wholeTarget && !covered.has('@query')) return 'the request has a query and the signature does not cover @query'
  if (request.hasBody && !covered.has(HEADER.contentDigest)) return 'the request has a body and the signature does not cover content-digest'
  return undefined
}
