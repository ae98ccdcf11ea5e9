/**
 * @module
 * `verify=2` or `verify=3` on a request through a router (issue 18 §3): the request runs on that
 * many distinct nodes, each computing afresh (`cache-control: no-cache`) and signing a receipt
 * (`attest=true`); the answer is the first node's when every result ID agrees, with
 * `hashbeam-verified: N` and `hashbeam-verified-by` naming the nodes. When they differ: 409
 * `verification-diverged` with each node's result and receipt, and the fault proofs the nodes
 * themselves produce: each node is asked to replay the others' receipts
 * (`POST /~replay@1.0/fault-proof`, on the shared ledger), and the proofs that verify offline
 * here are included. Nobody is benched by a quorum: a client's request is no checker's report.
 *
 * `verify` is the router's key: it is taken off the query before the request travels, so the
 * nodes compute exactly the request without it, to the same hashpath.
 */
import { ConflictError, InvalidRequestError, UnavailableError } from '../../core/errors.js'
import { fromJson, toJson } from '../../core/json.js'
import { isMessage } from '../../core/message.js'
import type { Message } from '../../core/types.js'
import type { Candidate } from '../router/index.js'
import { verifyFaultProof } from '../replay/index.js'
import { forward, toResponse, type ForwardOptions, type ForwardRequest } from './forward.js'
import { exchange } from './transport.js'

/** The quorum a request asks for (query `verify=N` or header `hashbeam-verify`), and its target without it. */
export function quorumOf(target: string, header: string | null): { count: number; target: string } | undefined {
  const q = target.indexOf('?')
  // The hot path: most requests ask for nothing.
  if (header === null && (q === -1 || !target.includes('verify=', q))) return undefined
  const params = new URLSearchParams(q === -1 ? '' : target.slice(q + 1))
  const asked = params.get('verify') ?? header
  if (asked === null) return undefined
  if (asked !== '2' && asked !== '3') throw new InvalidRequestError('relay: verify is 2 or 3 (the number of distinct nodes that must agree)', { code: 'invalid-verify' })
  params.delete('verify')
  params.set('attest', 'true')
  return { count: Number(asked), target: `${q === -1 ? target : target.slice(0, q)}?${params.toString()}` }
}

interface Answer { node: Candidate; res: Response; body: Uint8Array }

/** A receipt or a fault proof is a few KiB; anything past this is no answer to read. */
const JSON_LIMIT = 4 * 1024 * 1024

/** A message from a node as JSON (typed, core/json.ts), or undefined when it cannot be had. */
async function fetchJson(opts: ForwardOptions, node: Candidate, path: string, method = 'GET', body?: Uint8Array): Promise<Message | undefined> {
  const headers = ['accept', 'application/json', ...(body === undefined ? [] : ['content-type', 'application/json', 'content-length', String(body.byteLength)])]
  const sent = exchange(node.url, path, { method, headers, body, bufferLimit: JSON_LIMIT })
  const timer = setTimeout(() => sent.abort(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs)
  try {
    const res = await sent.answer
    if (res.status !== 200 || !(res.body instanceof Uint8Array)) {
      if (res.body instanceof ReadableStream) await res.body.cancel()
      return undefined
    }
    const value = fromJson(JSON.parse(Buffer.from(res.body).toString('utf8')) as unknown, node.url + path)
    return isMessage(value) ? value : undefined
  } catch {
    return undefined
  } finally {
    clearTimeout(timer)
  }
}

/** Node a replays node b's receipt: a proof when a reproduces its own result and b's differs. */
async function proofAgainst(opts: ForwardOptions, by: Answer, receipt: Message): Promise<Message | undefined> {
  const proof = await fetchJson(opts, by.node, '/~replay@1.0/fault-proof', 'POST', new TextEncoder().encode(JSON.stringify({ document: toJson(receipt) })))
  return proof !== undefined && (await verifyFaultProof(proof)).valid ? proof : undefined
}

export async function runQuorum(req: ForwardRequest, count: number, nodes: readonly Candidate[], opts: ForwardOptions): Promise<Response> {
  const headers = new Headers()
  if (req.headers instanceof Headers) req.headers.forEach((v, k) => headers.set(k, v))
  else for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v)
  if (headers.get('accept')?.includes('text/event-stream') === true || /[?&]stream=true/.test(req.target)) {
    throw new InvalidRequestError('relay: verify needs a whole answer to compare, not a stream', { code: 'invalid-verify' })
  }
  const chosen = nodes.filter((n) => opts.cluster.breakers.allow(n.address)).slice(0, count)
  if (chosen.length < count) throw new UnavailableError(`relay: verify=${count} needs ${count} live nodes for this route; ${chosen.length} available`, { code: 'not-enough-nodes', retryAfterSeconds: 1 })
  headers.set('cache-control', 'no-cache')
  // Not a transport header: left on, a node would read it as a key of the request.
  headers.delete('hashbeam-verify')
  const answers: Answer[] = await Promise.all(chosen.map(async (node) => {
    const res = toResponse(await forward({ ...req, headers }, [node], { ...opts, maxAttempts: 1 }))
    return { node, res, body: new Uint8Array(await res.arrayBuffer()) }
  }))
  const failed = answers.find((a) => a.res.status !== 200)
  if (failed !== undefined) return new Response(failed.body as BodyInit, { status: failed.res.status, headers: failed.res.headers })
  const ids = answers.map((a) => a.res.headers.get('ao-id') ?? '')
  const first = answers[0]!
  if (ids.every((id) => id !== '' && id === ids[0])) {
    const out = new Headers(first.res.headers)
    out.set('hashbeam-verified', String(count))
    out.set('hashbeam-verified-by', answers.map((a) => a.node.address).join(', '))
    return new Response(first.body as BodyInit, { status: 200, headers: out })
  }
  const receipts = await Promise.all(answers.map(async (a) => {
    const id = a.res.headers.get('ao-receipt')
    return id === null ? undefined : fetchJson(opts, a.node, `/${id}`)
  }))
  const proofs: Message[] = []
  await Promise.all(answers.flatMap((by, i) => answers.map(async (_, j) => {
    const receipt = receipts[j]
    if (i === j || receipt === undefined || ids[i] === ids[j]) return
    const proof = await proofAgainst(opts, by, receipt)
    if (proof !== undefined) proofs.push(proof)
  })))
  throw new ConflictError(`relay: the ${count} nodes computed different results for this request`, {
    code: 'verification-diverged',
    detail: {
      divergence: answers.map((a, i) => ({ node: a.node.address, url: a.node.url, result: ids[i], hashpath: a.res.headers.get('hashpath'), receipt: a.res.headers.get('ao-receipt') })),
      'fault-proofs': proofs.map((p) => toJson(p)),
    },
  })
}
