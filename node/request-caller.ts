/**
 * @module
 * Who sent a signed request, and whether their signature may authorise a privileged action
 * (DESIGN §11): the `Caller` the resolver shows top-level steps as `ctx.caller`, and that
 * core/authority.ts `requireOperator` checks. Built only for requests that carry a signature;
 * an unsigned request never reaches this module.
 *
 * A signature authorises (`operator: true`) when it is the operator's and it is fit:
 * - **bound to this request**: RFC 9421 over `@path` (+ `@query` when there is a query) and
 *   `content-digest` when there is a body, in either base shape (HyperBEAM's `"path": <value>`
 *   line binds once its value is checked against the request; devices/httpsig/request-target.ts),
 *   or a data item whose `path` tag is this request's target (node/http-identity.ts);
 * - **fresh**: a `created` parameter, when present, within `skewSeconds` of the node's clock
 *   (`expires` is enforced for every request when the signature is verified);
 * - **tagged for it**: the node's own key authorises only an RFC 9421 signature tagged
 *   `hashbeam-operator` — what the CLI signs, and what the node never signs for anyone — and
 *   the other `hashbeam-*` tags (a signed reply is `hashbeam-reply`) never authorise.
 * An unfit signature still names its signer (`address`), with `unfit` saying why it cannot
 * authorise. `claim()` spends the signature for good (node/spent-signatures.ts).
 */
import type { Caller } from '../core/types.js'
import { commitmentId, SIGNATURE_TAG, unboundPartOf, type VerifiedSignature } from '../devices/httpsig/index.js'
import type { RequestProof } from './http-identity.js'
import type { SpentSignatures } from './spent-signatures.js'

/** What the node knows when it judges a request signature. */
export interface CallerPolicy {
  /** The node's own address (its wallet's). */
  readonly nodeAddress: string
  /** The operator's address, read per request (it may change at run time). */
  operator(): string
  /** How far a signature's `created` may be from the node's clock, either way. */
  readonly skewSeconds: number
  readonly spent: SpentSignatures
  /** The clock, in seconds since the epoch (tests pin it). */
  readonly now?: () => number
}

/** The request the signatures came with. */
export interface SignedRequest {
  readonly method: string
  /** "/path?query" as sent. */
  readonly target: string
  readonly body: Uint8Array
}

type Unfit = NonNullable<Caller['unfit']>

interface Candidate {
  readonly address: string
  readonly signature: Uint8Array
  readonly commitment: string
  readonly unfit: Unfit | undefined
}

class RequestCaller implements Caller {
  readonly address: string
  readonly via: Caller['via']
  readonly operator: boolean
  readonly unfit?: Unfit
  readonly commitment: string
  readonly #signature: Uint8Array
  readonly #spent: SpentSignatures
  readonly #request: string
  constructor(candidate: Candidate, via: Caller['via'], operator: boolean, spent: SpentSignatures, request: string) {
    this.address = candidate.address
    this.via = via
    this.operator = operator
    if (candidate.unfit !== undefined) this.unfit = candidate.unfit
    this.commitment = candidate.commitment
    this.#signature = candidate.signature
    this.#spent = spent
    this.#request = request
  }
  claim(): Promise<void> {
    return this.#spent.spend(this.#signature, { by: this.address, request: this.#request })
  }
}

/**
 * The caller of a signed request: the operator's signature when one is present (a fit one
 * first), else the first signer's; undefined when nothing names a signer (no proof, or HMAC
 * signatures only).
 */
export function requestCaller(proof: RequestProof | undefined, request: SignedRequest, policy: CallerPolicy): Caller | undefined {
  if (proof === undefined) return undefined
  const candidates = proof.via === 'httpsig'
    ? proof.signatures.flatMap((s) => (s.committer === undefined ? [] : [httpsigCandidate(s, s.committer, request, policy)]))
    : [{
        address: proof.item.committer, signature: proof.item.signature, commitment: proof.item.id,
        unfit: ans104Unfit(proof.item.committer, proof.pathBound, policy),
      }]
  const operator = policy.operator()
  const pick = candidates.find((c) => c.address === operator && c.unfit === undefined)
    ?? candidates.find((c) => c.address === operator)
    ?? candidates.find((c) => c.unfit === undefined)
    ?? candidates[0]
  if (pick === undefined) return undefined
  const authorises = pick.address === operator && pick.unfit === undefined
  return new RequestCaller(pick, proof.via, authorises, policy.spent, `${request.method} ${request.target.slice(0, 300)}`)
}

function httpsigCandidate(signature: VerifiedSignature, address: string, request: SignedRequest, policy: CallerPolicy): Candidate {
  return { address, signature: signature.signature, commitment: commitmentId(signature), unfit: httpsigUnfit(signature, address, request, policy) }
}

function httpsigUnfit(signature: VerifiedSignature, address: string, request: SignedRequest, policy: CallerPolicy): Unfit | undefined {
  const tag = signature.params.tag
  if (address === policy.nodeAddress && tag !== SIGNATURE_TAG.operator) {
    return wrongTag(`the node's own key authorises only a request tagged "${SIGNATURE_TAG.operator}" (the hashbeam CLI's)${tag === undefined ? '' : `, not "${String(tag)}"`}`)
  }
  if (typeof tag === 'string' && tag.startsWith('hashbeam-') && tag !== SIGNATURE_TAG.operator) {
    return wrongTag(`a signature tagged "${tag}" is one the node made, never an authorisation`)
  }
  const queryAt = request.target.indexOf('?')
  const unbound = unboundPartOf(signature, { hasQuery: queryAt !== -1 && queryAt < request.target.length - 1, hasBody: request.body.length > 0 })
  if (unbound !== undefined) {
    return { code: 'signature-unbound', reason: `${unbound}; a privileged request must be signed over its own path, query and body` }
  }
  const created = signature.params.created
  if (created === undefined) return undefined
  const now = policy.now?.() ?? Math.floor(Date.now() / 1000)
  if (typeof created !== 'number' || Math.abs(now - created) > policy.skewSeconds) {
    const when = typeof created !== 'number' ? 'at no readable time' : created <= now ? `${now - created} s ago` : `${created - now} s in the future`
    return { code: 'signature-stale', reason: `the signature was created ${when}; this node accepts ${policy.skewSeconds} s either way` }
  }
  return undefined
}

function ans104Unfit(address: string, pathBound: boolean, policy: CallerPolicy): Unfit | undefined {
  if (address === policy.nodeAddress) {
    return wrongTag(`the node's own key authorises only an RFC 9421 request tagged "${SIGNATURE_TAG.operator}", not a data item`)
  }
  if (!pathBound) {
    return { code: 'signature-unbound', reason: 'a data item authorises only when its "path" tag is this request\'s path (and query)' }
  }
  return undefined
}

const wrongTag = (reason: string): Unfit => ({ code: 'wrong-signature-tag', reason })
