/**
 * @module
 * The one rule for privileged actions (DESIGN §11): operator config, delete, import, route
 * changes, admitting a node. A privileged action is authorised only by the caller the HTTP
 * layer authenticated from a signature over *that* request (`ctx.caller`), and each such
 * signature is spent once. Commitments carried inside a message never authorise anything: a
 * signed message can be copied, re-labelled and sent again by anyone.
 *
 * @example
 * ```ts
 * keys: { delete: async (base, req, ctx) => { await requireOperator(ctx, 'store: delete'); … } }
 * ```
 */
import { ForbiddenError } from './errors.js'
import type { Caller, ResolveContext } from './types.js'

/**
 * Resolves to the operator's caller once their request signature is claimed; throws 403
 * `signature-required` (no authenticated caller), the caller's `unfit` code (a signature that
 * cannot authorise: `signature-unbound`, `signature-stale`, `wrong-signature-tag`),
 * `not-operator` (someone else) or, from the claim, `signature-replayed`. `action` names the
 * action in the message (`meta: config`).
 */
export async function requireOperator(ctx: Pick<ResolveContext, 'caller'>, action: string): Promise<Caller> {
  const caller = ctx.caller
  if (caller === undefined) {
    throw new ForbiddenError(`${action} needs a request signed by the node operator (RFC 9421 over this request, or a signed ANS-104 request)`, { code: 'signature-required' })
  }
  if (caller.unfit !== undefined) {
    throw new ForbiddenError(`${action}: ${caller.unfit.reason}`, { code: caller.unfit.code, detail: { signer: caller.address } })
  }
  if (!caller.operator) {
    throw new ForbiddenError(`${action} is for the node operator only`, { code: 'not-operator', detail: { signer: caller.address } })
  }
  await caller.claim()
  return caller
}
