/**
 * @module
 * The attestor: everything attest@1.0 does, without the device around it, so the node can share
 * one between the device (`report`, `verify`, `measurement`) and its HTTP layer (receipts after
 * an inference step). Measurement and hardware are computed once, at `start()` or on first use.
 *
 * Collection providers default to both TEE kinds with their default options: on a machine with
 * neither, each only finds its tool or configfs entry missing and yields nothing. Verification
 * uses the collection providers for their types (so configured roots and lists apply) and
 * verify-only providers with the pinned vendor roots for the others, so a node without a TEE
 * can still appraise another node's evidence.
 */
import type { Logger, Message } from '../../core/types.js'
import type { Wallet } from '../../identity/keys.js'
import { detectHardware, type Hardware } from './hardware.js'
import type { Measurement } from './measurement.js'
import { issueReceipt, type ReceiptFields } from './receipt.js'
import { createReport, parseNonce } from './report.js'
import { nvidiaCcProvider } from './tee/nvidia-cc.js'
import type { TeeProvider } from './tee/provider.js'
import { sevSnpProvider } from './tee/sev-snp.js'
import { verifyDocument, type VerifyOptions, type VerifyResult } from './verify.js'

/** A value, or how to get it once (e.g. after gpu-infer has loaded llama.cpp). */
export type Lazy<T> = T | (() => T | Promise<T>)

export interface AttestorOptions {
  wallet: Wallet
  /** The software measurement, or a thunk computing it (called once). */
  measurement: Lazy<Measurement>
  /** Default: detected at start (CPU from /proc/cpuinfo, GPUs from nvidia-smi when present). */
  hardware?: Lazy<Hardware>
  /** Trusted software measurements (hex) used by `verify`. */
  trustedMeasurements?: readonly string[]
  /** TEE providers that collect evidence here; default both kinds. `[]` disables TEEs. */
  providers?: readonly TeeProvider[]
  /** Extra verify-only providers (another type's roots, or test roots). */
  verifiers?: readonly TeeProvider[]
  now?: () => Date
  log?: Logger
}

export interface Attestor {
  start(): Promise<void>
  measurement(): Promise<Measurement>
  /** A signed report for a caller's nonce (validated: 400 on a bad one). */
  report(nonce: unknown): Promise<Message>
  /** A signed receipt for one inference step. */
  receipt(fields: ReceiptFields): Promise<Message>
  verify(doc: Message, opts?: Pick<VerifyOptions, 'expectedNonce' | 'expectedAddress'>): Promise<VerifyResult>
  /** Types of the collecting providers and the size of the trusted list (for `info`). */
  readonly teeTypes: readonly string[]
  readonly trustedCount: number
}

const resolve = async <T>(value: Lazy<T>): Promise<T> => (typeof value === 'function' ? (value as () => T | Promise<T>)() : value)

export function createAttestor(opts: AttestorOptions): Attestor {
  const providers = opts.providers ?? [sevSnpProvider(), nvidiaCcProvider()]
  const verifiers: TeeProvider[] = [...providers, ...(opts.verifiers ?? [])]
  for (const fallback of [sevSnpProvider({ collect: false }), nvidiaCcProvider({ collect: false })]) {
    if (!verifiers.some((v) => v.type === fallback.type)) verifiers.push(fallback)
  }
  let measured: Promise<Measurement> | undefined
  let hardware: Promise<Hardware> | undefined
  const measurement = (): Promise<Measurement> => {
    measured ??= resolve(opts.measurement)
    // A failed measurement is retried on the next call rather than cached forever.
    measured.catch(() => { measured = undefined })
    return measured
  }
  const hw = (): Promise<Hardware> => {
    hardware ??= opts.hardware === undefined ? detectHardware() : resolve(opts.hardware)
    hardware.catch(() => { hardware = undefined })
    return hardware
  }
  const reportOptions = async () => ({
    measurement: await measurement(), hardware: await hw(), providers,
    ...(opts.now !== undefined && { now: opts.now }), ...(opts.log !== undefined && { log: opts.log }),
  })
  return {
    async start() {
      await Promise.all([measurement(), hw()])
    },
    measurement,
    async report(nonce) {
      const checked = parseNonce(nonce as Message[string] | undefined)
      return createReport(checked, { ...(await reportOptions()), wallet: opts.wallet })
    },
    async receipt(fields) {
      return issueReceipt(fields, opts.wallet, await reportOptions())
    },
    verify(doc, vopts = {}) {
      return verifyDocument(doc, {
        ...vopts, providers: verifiers,
        ...(opts.trustedMeasurements !== undefined && { trustedMeasurements: opts.trustedMeasurements }),
        ...(opts.now !== undefined && { now: opts.now() }),
      })
    },
    teeTypes: providers.map((p) => p.type),
    trustedCount: opts.trustedMeasurements?.length ?? 0,
  }
}
