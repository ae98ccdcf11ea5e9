/**
 * @packageDocumentation
 * Folder: one device (its index.ts is its only door). May import: core/, identity/, this folder,
 * another device only through its index.ts, the libraries it needs; never node/ (eslint/boundaries.js).
 *
 * `attest@1.0`: the node vouching for itself and for its computations, offline-verifiable.
 *
 * - `report&nonce=<hex, 16–64 bytes>` → an attestation report signed by the node wallet:
 *   address, public key, software measurement, hardware, TEE evidence (none | sev-snp |
 *   nvidia-cc), nonce, issued-at and a trust label (self-signed | tee-attested). 400 on a bad
 *   nonce. Never cached: each report is a new statement with its own time.
 * - `verify` (POST a report or a receipt as the body, or under `document`; optional
 *   `expected-nonce`, `expected-address`) → `{valid, kind, trust, address, checks}`.
 * - `measurement` → the software measurement and its parts (deterministic).
 * - `info` → description, keys, TEE providers, trusted list size.
 *
 * Inference receipts are issued by the node after a gpu-infer step through the same attestor
 * (`createAttestor(...).receipt(fields)`, fields from `receiptFieldsFrom`), out of band.
 *
 * @example
 * ```sh
 * NONCE=$(openssl rand -hex 32)
 * curl -s "localhost:8734/~attest@1.0/report&nonce=$NONCE" -H 'accept: application/json' > report.json
 * curl -s -X POST localhost:8734/~attest@1.0/verify -H 'content-type: application/json' \
 *   --data "{\"document\": $(cat report.json), \"expected-nonce\": \"$NONCE\"}"
 * curl -s localhost:8734/~attest@1.0/measurement
 * ```
 */
import type { Store } from '../../core/store.js'
import type { Device, Message } from '../../core/types.js'
import { createAttestor, type Attestor, type AttestorOptions } from './attestor.js'
import { createReceipts, type Receipts } from './receipts.js'
import { ATTEST_DEVICE_NAME, TRUST_LABELS } from './constants.js'
import { measurementMessage } from './measurement.js'
import { documentFromRequest, requestVerifyOptions, verifyResultMessage } from './verify.js'

export { createAttestor, type Attestor, type AttestorOptions, type Lazy } from './attestor.js'
export { detectHardware, type Hardware } from './hardware.js'
export { measure, measureCommand, measureCommandOutput, measurementMessage, type Measurement, type MeasureOptions, type LlamaCppVariant } from './measurement.js'
export { issueReceipt, receiptFieldsFrom, receiptNonce, type ReceiptFields } from './receipt.js'
export { createReceipts, wantsReceipt, type Receipts } from './receipts.js'
export { createReport, parseNonce, teeBinding } from './report.js'
export { nvidiaCcProvider, type NvidiaCcOptions } from './tee/nvidia-cc.js'
export type { Check, TeeProvider, TeeVerifyOptions } from './tee/provider.js'
export { sevSnpProvider, type SevSnpOptions } from './tee/sev-snp.js'
export { documentFromRequest, verifyDocument, verifyResultMessage, type VerifyOptions, type VerifyResult } from './verify.js'
export { ATTEST_DEVICE_NAME } from './constants.js'

/** Options of the device: an attestor, or what to build one from; and what it owns besides. */
export type AttestDeviceOptions = (AttestorOptions | { attestor: Attestor }) & {
  /** Inference receipts: recorded in `store`; issued for every gpu-infer answer when `always`. */
  readonly receipts?: { readonly store: Store; readonly always: boolean }
  /**
   * Measure and gather evidence in `start` (default true). The node passes false without
   * --preload: the measurement names the llama.cpp binary, which loads on first use.
   */
  readonly eagerStart?: boolean
}

/** attest@1.0 with the services it owns: its attestor and, when configured, the receipts. */
export interface AttestDevice extends Device {
  readonly attestor: Attestor
  readonly receipts: Receipts | undefined
}

export function attestDevice(opts: AttestDeviceOptions): AttestDevice {
  const attestor = 'attestor' in opts ? opts.attestor : createAttestor(opts)
  const receipts = opts.receipts === undefined ? undefined : createReceipts({ attestor, ...opts.receipts })
  const eager = opts.eagerStart ?? true
  let started: Promise<void> | undefined
  return {
    attestor,
    receipts,
    name: ATTEST_DEVICE_NAME,
    info: {
      description: 'Signed attestation reports (software measurement, hardware, TEE evidence) and offline verification of reports and inference receipts.',
      'trust-labels': [...TRUST_LABELS],
      'tee-providers': [...attestor.teeTypes],
      'trusted-measurements': attestor.trustedCount,
    },
    exports: ['report', 'verify', 'measurement'],
    // Reports carry a time and fresh evidence; verification depends on the clock (certificate
    // validity) and on configuration. Only the measurement is the same answer every time.
    deterministic: (key) => key === 'measurement',
    async start() {
      if (!eager) return
      started ??= attestor.start()
      try {
        await started
      } catch (err) {
        started = undefined
        throw err
      }
    },
    keys: {
      report: async (_base, req, ctx) => {
        ctx.markNonDeterministic()
        return attestor.report(req.nonce)
      },
      verify: async (_base, req, ctx) => {
        ctx.markNonDeterministic()
        return verifyResultMessage(await attestor.verify(documentFromRequest(req), requestVerifyOptions(req)))
      },
      measurement: async (): Promise<Message> => measurementMessage(await attestor.measurement()),
    },
  }
}

export default attestDevice
