/**
 * @module
 * Appraisal of one GPU's `nvidia-cc` evidence (the checks are listed in nvidia-cc.ts): the SPDM
 * report against the binding, the certificate chain to a pinned NVIDIA root, the signature, the
 * FWID, the driver version and the measurement record.
 */
import { createHash } from 'node:crypto'
import type { Message, Value } from '../../../core/types.js'
import type { NvidiaCcOptions } from './nvidia-cc.js'
import { NVIDIA_ROOTS } from './nvidia-cc-roots.js'
import { bytesEqual, check, decodeBase64, guarded, toHex, trustedListCheck, type Check, type TeeVerifyOptions } from './provider.js'
import { OPAQUE_FIELDS, opaqueText, parseSpdmReport, type SpdmReport } from './spdm.js'
import { findFwids } from './vendor-extensions.js'
import { commonName, extensionValuesUnder, parseCertificate, splitPem, verifiesWith, verifyChain, type Certificate } from './x509.js'

/** DICE extensions NVIDIA certificates carry FWIDs in (TCG DICE arc 2.23.133.5.4). */
const DICE_ARC = '2.23.133.5.4.'

export type GpuVerify = (prefix: string, entry: Message, binding: Uint8Array, vopts: TeeVerifyOptions) => Promise<Check[]>

/** The per-GPU verify function for `opts`, its roots parsed once; throws when one does not parse. */
export function gpuVerifier(opts: NvidiaCcOptions): GpuVerify {
  const roots = (opts.roots ?? NVIDIA_ROOTS).map((pem, i) => parseCertificate(pem, `NVIDIA root ${i}`))
  return (prefix, entry, binding, vopts) => verifyGpu(prefix, entry, binding, roots, opts, vopts)
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
