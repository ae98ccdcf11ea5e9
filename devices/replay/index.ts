/**
 * @packageDocumentation
 * Folder: one device (its index.ts is its only door). May import: core/, identity/, this folder,
 * another device only through its index.ts, the libraries it needs; never node/ (eslint/boundaries.js).
 *
 * `replay@1.0`: check what a node computed, and move computations between nodes.
 *
 * - `verify&hashpath=…`  walk the step records and recompute every link; nothing executed (fast).
 * - `replay&hashpath=…`  re-execute every step with this node's devices and compare result IDs.
 * - `export&hashpath=…`  the chain as a CAR file (every block it needs, each checkable by hash),
 *   its manifest signed once by this node (tag `export`).
 * - `import` (POST a CAR; operator-signed unless `--open-import`) check every block, the seal of
 *   every record, the manifest signature and the whole chain, then store it without replacing
 *   any record. Imported records keep the export's signer as their writer (import.ts).
 *
 * verify reports who stands behind each step (`writers`) and, with the node's trust policy, how
 * many steps no trusted key stands behind (`untrusted`; header `hashbeam-untrusted-record`).
 * replay promotes the untrusted records it reproduces to this node's own.
 * - `fault-proof` (POST a signed receipt whose chain was imported) replay it; when the result
 *   differs on the identical profile, a fault-proof document (see fault.ts).
 * - `verify-fault` (POST a fault proof) check it without trusting either node;
 *   `&reexecute=true` also recomputes the step here to say whose result is reproducible.
 *
 * @example
 * ```sh
 * HP=$(curl -si 'localhost:8734/~message@1.0&a=1/set&b=2/b' | awk -F': ' '/^hashpath/{print $2}' | tr -d '\r')
 * Q=$(node -p 'encodeURIComponent(process.argv[1])' "$HP")
 * curl "localhost:8734/~replay@1.0/verify&hashpath=$Q"
 * curl "localhost:8734/~replay@1.0/replay&hashpath=$Q"
 * curl -o chain.car "localhost:8734/~replay@1.0/export&hashpath=$Q"
 * curl -X POST --data-binary @chain.car -H 'content-type: application/vnd.ipld.car' localhost:9000/~replay@1.0/import
 * ```
 */
import { requireOperator } from '../../core/authority.js'
import { UnavailableError, UnprocessableError } from '../../core/errors.js'
import { replayHashpath } from '../../core/replay.js'
import type { Resolver } from '../../core/resolve.js'
import type { Device, DeviceComponents, Message } from '../../core/types.js'
import { verifyHashpath } from '../../core/verify.js'
import { isMessage } from '../../core/message.js'
import type { Attestor } from '../attest/index.js'
import { CAR_CONTENT_TYPE, exportChain, type ExportSigner } from './car.js'
import { importChain } from './import.js'
import { createFaultProof, verifyFaultProof } from './fault.js'

export { CAR_CONTENT_TYPE, exportChain, type ExportSigner } from './car.js'
export { importChain, type ImportReport } from './import.js'
export { FAULT_PROOF_TYPE, faultProofFrom, replayReceipt, verifyFaultProof, type FaultVerdict, type ReplayedReceipt } from './fault.js'

export const REPLAY_DEVICE_NAME = 'replay@1.0'

export interface ReplayInit extends Pick<DeviceComponents, 'store'> {
  /** The node's full resolver, for re-execution, export and its ledger trust. */
  readonly resolver?: Resolver
  /** The node's attestor, to sign the verifier's receipt in a fault proof. */
  readonly attestor?: Attestor
  /** Signs export manifests with the node's key (tag `export`); without one, export is a 503. */
  readonly exportSigner?: ExportSigner
  /** `--open-import`: anyone may import (else only a request signed by the operator). */
  readonly openImport?: boolean
}

/** A document sent as the request: under `document`, or as the request's own keys. */
function documentOf(req: Message): Message {
  if (isMessage(req.document)) return req.document
  const { path: _path, 'as-device': _device, reexecute: _reexecute, ...doc } = req
  return doc
}

const asMessage = (report: unknown): Message => JSON.parse(JSON.stringify(report)) as Message

function hashpathOf(req: Message): string {
  const hashpath = req.hashpath
  if (typeof hashpath !== 'string' || hashpath === '') throw new UnprocessableError('replay: needs "hashpath"', { code: 'missing-hashpath' })
  return hashpath
}

export function replayDevice(init: ReplayInit): Device {
  const { store } = init
  const resolver = (): Resolver => {
    const r = init.resolver
    if (r === undefined) throw new UnprocessableError('replay: this node was built without a resolver for re-execution', { code: 'replay-unavailable' })
    return r
  }
  return {
    name: REPLAY_DEVICE_NAME,
    info: { description: 'Verify, replay, export and import hashpath chains.' },
    // Reports describe the store as it is now; the same question may get another answer later.
    deterministic: false,
    keys: {
      async verify(_base, req, ctx) {
        const report = await verifyHashpath(store, hashpathOf(req), undefined, init.resolver?.ledger)
        if ((report.untrusted ?? 0) > 0) ctx.meta.set('untrusted-record', String(report.untrusted))
        return asMessage(report)
      },
      replay: async (_base, req) => asMessage(await replayHashpath(resolver(), hashpathOf(req))),
      async export(_base, req) {
        if (init.exportSigner === undefined) throw new UnavailableError('replay: this node has no key to sign exports with', { code: 'no-wallet' })
        // The CAR's bytes as the answer: a raw body (a message {content-type, body} became multipart).
        return exportChain(resolver(), hashpathOf(req), init.exportSigner)
      },
      async 'fault-proof'(_base, req) {
        const attestor = init.attestor
        if (attestor === undefined) throw new UnprocessableError('replay: this node cannot sign receipts', { code: 'replay-unavailable' })
        return createFaultProof(resolver(), attestor, documentOf(req))
      },
      async 'verify-fault'(_base, req) {
        const reexecute = req.reexecute === true || req.reexecute === 'true'
        return asMessage(await verifyFaultProof(documentOf(req), reexecute ? resolver() : undefined))
      },
      async import(_base, req, ctx) {
        if (init.openImport !== true) await requireOperator(ctx, 'replay: import')
        const body = req.body
        if (!(body instanceof Uint8Array)) {
          throw new UnprocessableError(`replay: import needs a CAR body (content-type: ${CAR_CONTENT_TYPE})`, { code: 'missing-car' })
        }
        const ledger = init.resolver?.ledger
        const imported = await importChain(store, body, ledger)
        return asMessage({ ...imported, verify: await verifyHashpath(store, imported.hashpath, undefined, ledger) })
      },
    },
  }
}

export default replayDevice
