/**
 * @module
 * Attestation reports: what the node says about itself, for one caller's nonce, signed.
 *
 *   { type: attestation-report, format: hashbeam-attest/1,
 *     address, public-key (base64url), key-type (rsa | ed25519),
 *     measurement (hex), measurement-parts [{name, sha256, detail}],
 *     hardware {cpu {model, cores}, gpus [{name, driver, memory-mib}]},
 *     nonce (hex), issued-at (ISO 8601),
 *     tee {type: none} | {type: sev-snp | nvidia-cc, evidence} | {type: composite, evidence: [{type, evidence}]},
 *     trust: self-signed | tee-attested,
 *     commitments { <id>: native commitment by the node wallet } }
 *
 * The native commitment (devices/message/commit.ts) signs the 32-byte unsigned ID — sha256 of
 * the DAG-CBOR of every key but `commitments` — with the wallet: RSA-PSS/SHA-512 or Ed25519.
 *
 * The TEE binding. The hardware never sees the caller's nonce alone: it is given
 * sha256(DAG-CBOR {context, body}), where body is the report minus `tee`, `trust` and
 * `commitments` — address, key, measurement, hardware, nonce, time. So TEE evidence vouches
 * for this exact report by this exact key, and cannot be lifted into another node's report
 * (a relay that forwards our nonce to a genuine TEE gets evidence bound to *that* node's key).
 *
 * The label is decided here once: `tee-attested` only when the node's own providers verified
 * every piece of evidence it collected (binding included); otherwise `self-signed`, with any
 * evidence still attached for the verifier to judge. Verifiers recompute; nothing upgrades it.
 */
import { sha256 } from '../../core/sha256.js'
import { encodeCanonical, publicValue } from '../../core/codec.js'
import { InvalidRequestError } from '../../core/errors.js'
import { toBase64Url } from '../../core/id.js'
import type { Logger, Message, Value } from '../../core/types.js'
import { publicKeyBytes, walletAddress, type Wallet } from '../../identity/keys.js'
import { commitMessage } from '../message/index.js'
import {
  ATTEST_FORMAT, NONCE_MAX_BYTES, NONCE_MIN_BYTES, REPORT_TYPE, TEE_BINDING_CONTEXT, UNBOUND_REPORT_KEYS, type TrustLabel,
} from './constants.js'
import { hardwareMessage, type Hardware } from './hardware.js'
import type { Measurement } from './measurement.js'
import { requiredPass, type TeeProvider } from './tee/provider.js'

export interface ReportOptions {
  wallet: Wallet
  measurement: Measurement
  hardware: Hardware
  /** Providers to collect and locally verify evidence with; none → a self-signed report. */
  providers?: readonly TeeProvider[]
  /** The clock (tests pin it). */
  now?: () => Date
  log?: Logger
}

/** A caller's nonce as lower-case hex; 400 `nonce-required` / `invalid-nonce` otherwise. */
export function parseNonce(value: Value | undefined): string {
  if (value === undefined || value === '' || value === true) {
    throw new InvalidRequestError('attest: a report needs a nonce: report&nonce=<hex, 16 to 64 bytes>', { code: 'nonce-required' })
  }
  const text = typeof value === 'string' ? value : ''
  const bytes = text.length / 2
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(text) || bytes < NONCE_MIN_BYTES || bytes > NONCE_MAX_BYTES) {
    throw new InvalidRequestError(`attest: the nonce must be hex of ${NONCE_MIN_BYTES} to ${NONCE_MAX_BYTES} bytes`, {
      code: 'invalid-nonce', detail: { min: NONCE_MIN_BYTES, max: NONCE_MAX_BYTES },
    })
  }
  return text.toLowerCase()
}

/** The 32 bytes TEE evidence must carry for this report. */
export function teeBinding(report: Message): Uint8Array {
  const body: Message = { ...report }
  for (const key of UNBOUND_REPORT_KEYS) delete body[key]
  // publicValue applies the message rules (private keys dropped, values checked), as IDs do.
  return sha256(encodeCanonical({ context: TEE_BINDING_CONTEXT, body: publicValue(body) }))
}

/** Builds, binds, attests and signs a report for `nonce` (already validated hex). */
export async function createReport(nonce: string, opts: ReportOptions): Promise<Message> {
  const { wallet, measurement } = opts
  const body: Message = {
    type: REPORT_TYPE,
    format: ATTEST_FORMAT,
    address: walletAddress(wallet),
    'public-key': toBase64Url(publicKeyBytes(wallet)),
    'key-type': wallet.kind,
    measurement: measurement.measurement,
    'measurement-parts': measurement.parts.map((p): Message => ({ name: p.name, sha256: p.sha256, detail: p.detail })),
    hardware: hardwareMessage(opts.hardware),
    nonce,
    'issued-at': (opts.now?.() ?? new Date()).toISOString(),
  }
  const binding = teeBinding(body)
  const collected: Array<{ type: string; evidence: Value; verified: boolean }> = []
  for (const provider of opts.providers ?? []) {
    const evidence = await provider.collect(binding).catch((err: unknown) => {
      opts.log?.warn({ tee: provider.type, err: (err as Error).message }, 'attest: evidence collection failed')
      return undefined
    })
    if (evidence === undefined) continue
    // A provider should never throw; one that does has not verified anything.
    const checks = await provider.verify(evidence, binding).catch(() => [])
    const verified = requiredPass(checks)
    if (!verified) {
      opts.log?.warn({ tee: provider.type, failed: checks.filter((c) => !c.ok && c.required !== false).map((c) => c.name) }, 'attest: TEE evidence does not verify locally; report stays self-signed')
    }
    collected.push({ type: provider.type, evidence, verified })
  }
  const trust: TrustLabel = collected.length > 0 && collected.every((c) => c.verified) ? 'tee-attested' : 'self-signed'
  return commitMessage({ ...body, tee: teeValue(collected), trust }, wallet, 'report')
}

function teeValue(collected: ReadonlyArray<{ type: string; evidence: Value }>): Message {
  if (collected.length === 0) return { type: 'none' }
  if (collected.length === 1) return { type: collected[0]!.type, evidence: collected[0]!.evidence }
  return { type: 'composite', evidence: collected.map((c): Message => ({ type: c.type, evidence: c.evidence })) }
}
