/**
 * @module
 * The `nvidia-cc` provider: NVIDIA Hopper/Blackwell confidential-computing GPU evidence, in the
 * shape `nvattest collect-evidence` and NVIDIA's SDKs emit it — one entry per GPU:
 *   {arch, nonce, evidence: <base64 SPDM report>, certificate: <base64 of the PEM chain>,
 *    driver_version, vbios_version}
 * Evidence is the list of entries (a single entry is accepted too).
 *
 * Checks per GPU, named `nvidia-cc:…` (`nvidia-cc[i]:…` when several GPUs):
 * - `parse`: the SPDM GET_MEASUREMENTS request/response parses and its lengths add up;
 * - `nonce`: the requester nonce in the signed request is our 32-byte binding;
 * - `cert-chain`, `cert-validity`, `cert-purpose`: leaf → … → NVIDIA Device Identity CA;
 * - `signature`: ECDSA P-384/SHA-384 over request ‖ response-without-signature, leaf key;
 * - `fwid`: the firmware ID in the report's opaque data is one of the leaf certificate's DICE
 *   FWIDs (NVIDIA's "cert-chain-fwid-match"): the certificate was issued to this firmware;
 * - `driver-version`: the driver version the report signs equals the entry's claim;
 * - `measurements`: sha384 of the measurement record is in the trusted list (advisory when
 *   none is set). NVIDIA's verifiers instead compare each index against golden values from
 *   signed RIMs fetched online; that appraisal is the documented FetchSeam, not done here.
 *
 * What this proves and does not (APUS's reading, research apus.md §3.3, holds here too): a
 * genuine CC-mode GPU with NVIDIA-signed firmware answered our nonce. It does not prove that
 * this GPU computed anything, nor which model ran; only host (SNP) evidence can speak to that.
 */
import { createHash } from 'node:crypto'
import { isMessage } from '../../../core/message.js'
import type { Message, Value } from '../../../core/types.js'
import { runTool, type RunTool } from '../hardware.js'
import { bytesEqual, check, decodeBase64, guarded, toHex, trustedListCheck, type Check, type TeeProvider, type TeeVerifyOptions } from './provider.js'
import { NVIDIA_ROOTS } from './nvidia-cc-roots.js'
import { OPAQUE_FIELDS, opaqueText, parseSpdmReport, type SpdmReport } from './spdm.js'
import { findFwids } from './vendor-extensions.js'
import { commonName, extensionValuesUnder, parseCertificate, splitPem, verifiesWith, verifyChain, type Certificate } from './x509.js'

export interface NvidiaCcOptions {
  /** Trust anchors (PEM); default NVIDIA's device identity root. Tests inject their own. */
  roots?: readonly string[]
  /** Trusted sha384 digests (hex) of GPU measurement records. */
  trustedMeasurements?: readonly string[]
  /** How to collect: the nvattest executable and its arguments; `false` never collects. */
  collect?: { nvattest?: string; args?: (nonceHex: string) => string[]; run?: RunTool } | false
}

/** DICE extensions NVIDIA certificates carry FWIDs in (TCG DICE arc 2.23.133.5.4). */
const DICE_ARC = '2.23.133.5.4.'

export function nvidiaCcProvider(opts: NvidiaCcOptions = {}): TeeProvider {
  const roots = (opts.roots ?? NVIDIA_ROOTS).map((pem, i) => parseCertificate(pem, `NVIDIA root ${i}`))
  return {
    type: 'nvidia-cc',
    async collect(binding) {
      if (opts.collect === false) return undefined
      const c = opts.collect ?? {}
      const nonce = toHex(binding)
      try {
        const out = await (c.run ?? runTool)(c.nvattest ?? 'nvattest', (c.args ?? defaultArgs)(nonce))
        const entries = evidenceEntries(JSON.parse(out) as Value)
        return entries.length === 0 ? undefined : { gpus: entries }
      } catch {
        return undefined // no nvattest, no CC-mode GPU, or output we cannot read
      }
    },
    async verify(evidence, binding, vopts) {
      let entries: Message[]
      try {
        entries = evidenceEntries(evidence)
      } catch (err) {
        return [check('nvidia-cc:parse', false, (err as Error).message)]
      }
      if (entries.length === 0) return [check('nvidia-cc:parse', false, 'no GPU evidence')]
      const perGpu = await Promise.all(entries.map((entry, i) => verifyGpu(entries.length === 1 ? 'nvidia-cc' : `nvidia-cc[${i}]`, entry, binding, roots, opts, vopts ?? {})))
      return perGpu.flat()
    },
  }
}

const defaultArgs = (nonce: string): string[] => ['collect-evidence', '--nonce', nonce, '--format', 'json']

/** The per-GPU entries of evidence: a list, `{gpus}`, `{evidences}` or `{evidence_list}`, or one entry. */
function evidenceEntries(evidence: Value): Message[] {
  const list = Array.isArray(evidence) ? evidence
    : isMessage(evidence) && Array.isArray(evidence.gpus) ? evidence.gpus
    : isMessage(evidence) && Array.isArray(evidence.evidences) ? evidence.evidences
    : isMessage(evidence) && Array.isArray(evidence.evidence_list) ? evidence.evidence_list
    : isMessage(evidence) ? [evidence] : undefined
  if (list === undefined || !list.every(isMessage)) throw new Error('NVIDIA evidence must be a list of {evidence, certificate} entries')
  return list as Message[]
}

function chainText(certificate: Value | undefined): string {
  if (typeof certificate !== 'string') throw new Error('the entry has no "certificate" chain')
  return certificate.includes('-----BEGIN') ? certificate : Buffer.from(decodeBase64(certificate, 'the certificate chain')).toString('utf8')
}

async function verifyGpu(prefix: string, entry: Message, binding: Uint8Array, roots: Certificate[], opts: NvidiaCcOptions, vopts: TeeVerifyOptions): Promise<Check[]> {
  let report: SpdmReport | undefined
  let certs: Certificate[] = []
  const checks = guarded(`${prefix}:parse`, () => {
    if (typeof entry.evidence !== 'string') throw new Error('the entry has no base64 "evidence"')
    report = parseSpdmReport(decodeBase64(entry.evidence, 'the SPDM report'))
    certs = splitPem(chainText(entry.certificate)).map((pem, i) => parseCertificate(pem, `certificate ${i}`))
    const arch = typeof entry.arch === 'string' ? `${entry.arch}, ` : ''
    return check(`${prefix}:parse`, true, `${arch}SPDM ${report.version >> 4}.${report.version & 0xf}, ${report.blocks.length} measurement blocks, ${certs.length} certificates`)
  })
  if (report === undefined || checks[0]?.ok !== true) return checks
  const r = report
  const nonceOk = bytesEqual(r.nonce, binding)
  checks.push(check(`${prefix}:nonce`, nonceOk, nonceOk ? 'the signed request nonce is the binding of this document' : `request nonce ${toHex(r.nonce)} is not the binding ${toHex(binding)}`))
  checks.push(...(await verifyChain(prefix, certs, { roots, now: vopts.now ?? new Date() })).checks)
  const leaf = certs[0]
  checks.push(...guarded(`${prefix}:signature`, () => {
    if (leaf === undefined) return check(`${prefix}:signature`, false, 'no attestation certificate')
    const ok = verifiesWith(leaf, r.signed, r.signature)
    return check(`${prefix}:signature`, ok, ok ? `signed by "${commonName(leaf)}"` : 'the report signature does not verify with the attestation certificate')
  }))
  checks.push(...guarded(`${prefix}:fwid`, () => fwidCheck(`${prefix}:fwid`, r, leaf)))
  const signedDriver = opaqueText(r.opaque.get(OPAQUE_FIELDS.driverVersion))
  const claimed = typeof entry.driver_version === 'string' ? entry.driver_version : undefined
  checks.push(claimed === undefined || claimed === signedDriver
    ? check(`${prefix}:driver-version`, signedDriver !== undefined, signedDriver === undefined ? 'the report signs no driver version' : `driver ${signedDriver}`)
    : check(`${prefix}:driver-version`, false, `the entry claims driver ${claimed}, the report signs ${signedDriver ?? 'none'}`))
  const digest = createHash('sha384').update(r.record).digest('hex')
  checks.push(trustedListCheck(`${prefix}:measurements`, digest, opts.trustedMeasurements, 'GPU measurement record sha384'))
  return checks
}

function fwidCheck(name: string, r: SpdmReport, leaf: Certificate | undefined): Check {
  const fwid = r.opaque.get(OPAQUE_FIELDS.fwid)
  if (fwid === undefined) return check(name, false, 'the report carries no FWID')
  if (leaf === undefined) return check(name, false, 'no attestation certificate')
  const certFwids = extensionValuesUnder(leaf, DICE_ARC).flatMap((value) => findFwids(value).map((f) => f.digest))
  const ok = certFwids.some((d) => bytesEqual(d, fwid))
  return check(name, ok, ok ? `FWID ${toHex(fwid).slice(0, 16)}… matches the certificate` : `FWID ${toHex(fwid).slice(0, 16)}… is not in the certificate (${certFwids.length} FWIDs there)`)
}
