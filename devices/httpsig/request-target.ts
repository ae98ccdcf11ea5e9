/**
 * @module
 * Does a verified request signature bind the request it arrived with — its target and its
 * body — so that nobody can move it to another path, query or body? A privileged action needs
 * that (DESIGN §11; node/request-caller.ts). Ordinary requests do not: AO clients sign their
 * headers only (interop.md §1.3), and such a signature still says who sent those keys.
 *
 * A signature binds when its base fixes the path, the query too when the request has one, and
 * covers `content-digest` when there is a body (the digest is checked against the body whether
 * signed or not). What the base fixes (`binds`) comes from its lines (signature-base.ts), the
 * same way in both shapes:
 * - RFC 9421: `@path`, `@query`, or `@request-target`/`@target-uri` for both; derived values are
 *   computed from the request itself when the base is built, so covering one is binding it;
 * - HyperBEAM (`"path": <value>` for `"@path"`, as hbsig signs): the value is the message's
 *   `path`, checked against the request's path on verification; a value that is the path and
 *   the query binds both.
 * `@method` is not required: HyperBEAM's clients do not sign it.
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

/**
 * Undefined when the signature binds the request's target and body; otherwise what it leaves
 * out, in words (for a 403 message).
 */
export function unboundPartOf(signature: Pick<VerifiedSignature, 'covered' | 'binds'>, request: RequestShape): string | undefined {
  const binds = new Set(signature.binds)
  if (!binds.has('path')) return 'the signature does not cover @path'
  if (request.hasQuery && !binds.has('query')) return 'the request has a query and the signature does not cover @query'
  if (request.hasBody && !signature.covered.includes(HEADER.contentDigest)) {
    return 'the request has a body and the signature does not cover content-digest'
  }
  return undefined
}
