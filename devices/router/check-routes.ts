/**
 * @module
 * The router's verification surface (docs/verification.md):
 *
 *     POST /~router@1.0/results       a checker's signed poll: the relayed results since `after`
 *     POST /~router@1.0/checks        a checker's signed report: outcomes, fault proofs
 *     GET  /~router@1.0/faults        every proven fault, with its proof (the evidence is public)
 *     POST /~router@1.0/clear-fault   the operator puts a node back (`node`, optional `model`)
 *
 * Only admitted addresses (the operator's `--admit` list) may poll or report: the feed names
 * other clients' hashpaths, and a report can bench a node.
 */
import { randomUUID } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { requireOperator } from '../../core/authority.js'
import { ForbiddenError, InvalidRequestError } from '../../core/errors.js'
import type { HttpKit, Logger, Message, ResolveContext, Signer } from '../../core/types.js'
import { checkFreshness, MAX_CHECK_BYTES, verifyCheck, type SignedCheck } from './check-message.js'
import type { Cluster } from './cluster.js'

async function signedCheck(c: Context, cluster: Cluster, signer: Signer, http: HttpKit, newest: Map<string, number>): Promise<SignedCheck> {
  const bytes = await http.readBody(c.req.raw, MAX_CHECK_BYTES * 2)
  let body: { message?: unknown; signature?: unknown }
  try {
    body = JSON.parse(new TextDecoder().decode(bytes)) as typeof body
  } catch {
    body = {}
  }
  if (typeof body?.message !== 'string' || typeof body.signature !== 'string') {
    throw new InvalidRequestError('router: the body is {"message": "<JSON text>", "signature": "<base64url>"}', { code: 'invalid-check' })
  }
  const msg = verifyCheck(body.message, body.signature, signer)
  if (!cluster.admits(msg.address)) throw new ForbiddenError('router: this checker is not admitted (the operator\'s --admit list)', { code: 'node-not-admitted' })
  checkFreshness(msg, newest, Date.now())
  return msg
}

export function mountCheckRoutes(hono: Hono, cluster: Cluster | undefined, signer: Signer, log: Logger, http: HttpKit, notRouter: () => Error): void {
  const newest = new Map<string, number>()
  const answer = (c: Context, run: (cluster: Cluster) => Promise<unknown>) => {
    if (cluster === undefined) return http.error(notRouter(), randomUUID())
    return run(cluster).then((out) => c.json(out as object), (err) => http.error(err, randomUUID()))
  }
  hono.post('/~router@1.0/results', (c) => answer(c, async (cl) => {
    const msg = await signedCheck(c, cl, signer, http, newest)
    if (msg.kind !== 'poll') throw new InvalidRequestError('router: /results takes a poll', { code: 'invalid-check' })
    return cl.checks.since(msg.after)
  }))
  hono.post('/~router@1.0/checks', (c) => answer(c, async (cl) => {
    const msg = await signedCheck(c, cl, signer, http, newest)
    if (msg.kind !== 'report') throw new InvalidRequestError('router: /checks takes a report', { code: 'invalid-check' })
    const out = await cl.checks.report(msg.address, msg.outcomes)
    if (out.faults > 0) log.warn({ checker: msg.address, nodes: msg.outcomes.filter((o) => o.outcome === 'fault').map((o) => o.node) }, 'fault proven: node out of rotation for the model')
    return out
  }))
  hono.get('/~router@1.0/faults', (c) => answer(c, async (cl) => ({ faults: cl.checks.allFaults() })))
}

/** `POST /~router@1.0/clear-fault` (operator-signed): `node`, and `model` (sha256) or every model. */
export async function clearFault(cluster: Cluster, req: Message, ctx: ResolveContext, log: Logger): Promise<Message> {
  const caller = await requireOperator(ctx, 'router: clearing a fault')
  const node = req.node
  const model = req.model
  if (typeof node !== 'string' || (model !== undefined && typeof model !== 'string')) {
    throw new InvalidRequestError('router: clear-fault needs `node` (an address) and optionally `model` (a sha256)', { code: 'invalid-request' })
  }
  const cleared = await cluster.checks.clear(node, model)
  log.info({ by: caller.address, node, model: model ?? 'all', cleared }, 'fault cleared by the operator')
  return { node, cleared }
}
