/**
 * @module
 * Appraisal of `sev-snp` evidence (the checks are listed in sev-snp.ts): the report against the
 * binding and policy, the VCEK chain to a pinned ARK, the VCEK against the report, the signature.
 */
import { isMessage } from '../../../core/message.js'
import type { Message, Value } from '../../../core/types.js'
import { bytesEqual, check, decodeBase64, guarded, toHex, trustedListCheck, type Check, type TeeProvider, type TeeVerifyOptions } from './provider.js'
import type { SevSnpOptions } from './sev-snp.js'
import {
  debugAllowed, parseSnpReport, SNP_SIG_ALGO_ECDSA_P384_SHA384, SNP_SIGNING_KEY, snpReportData, tcbText, type SnpReport, type Tcb,
} from './sev-snp-report.js'
import { AMD_INTERMEDIATES, AMD_ROOTS } from './sev-snp-roots.js'
import { octetsOrRaw, smallInteger } from './vendor-extensions.js'
import { extensionValue, parseCertificate, verifiesWith, verifyChain, type Certificate } from './x509.js'

/** OIDs of AMD's VCEK extensions (AMD "VCEK certificate and KDS interface" specification). */
export const VCEK_OIDS = {
  bootloader: '1.3.6.1.4.1.3704.1.3.1', tee: '1.3.6.1.4.1.3704.1.3.2', snp: '1.3.6.1.4.1.3704.1.3.3',
  microcode: '1.3.6.1.4.1.3704.1.3.8', hwid: '1.3.6.1.4.1.3704.1.4', productName: '1.3.6.1.4.1.3704.1.2',
} as const

/** The verify function for `opts`, its anchors parsed once; throws when one does not parse. */
export function snpVerifier(opts: SevSnpOptions): TeeProvider['verify'] {
  const resolved: Resolved = {
    ...opts,
    rootCerts: (opts.roots ?? AMD_ROOTS).map((pem, i) => parseCertificate(pem, `SEV-SNP root ${i}`)),
    intermediateCerts: (opts.intermediates ?? AMD_INTERMEDIATES).map((pem, i) => parseCertificate(pem, `SEV-SNP intermediate ${i}`)),
  }
  return async (evidence, binding, vopts) => verifySnp(evidence, binding, resolved, vopts)
}

interface Resolved extends SevSnpOptions {
  rootCerts: Certificate[]
  intermediateCerts: Certificate[]
}

async function verifySnp(evidence: Value, binding: Uint8Array, opts: Resolved, vopts: TeeVerifyOptions = {}): Promise<Check[]> {
  let report: SnpReport | undefined
  let certs: Certificate[] = []
  const checks = guarded('sev-snp:parse', () => {
    const { reportB64, pems } = evidenceFields(evidence)
    report = parseSnpReport(decodeBase64(reportB64, 'the report'))
    certs = pems.map((pem, i) => parseCertificate(pem, `certificate ${i}`))
    if (report.version < 2) return check('sev-snp:parse', false, `report version ${report.version} is older than 2`)
    if (report.signatureAlgo !== SNP_SIG_ALGO_ECDSA_P384_SHA384) return check('sev-snp:parse', false, `signature algorithm ${report.signatureAlgo} is not ECDSA P-384/SHA-384`)
    return check('sev-snp:parse', true, `version ${report.version}, vmpl ${report.vmpl}, reported TCB ${tcbText(report.reportedTcb)}, firmware ${report.currentVersion}`)
  })
  if (report === undefined || checks[0]?.ok !== true) return checks
  const r = report
  const expected = snpReportData(binding)
  checks.push(check('sev-snp:report-data', bytesEqual(r.reportData, expected),
    bytesEqual(r.reportData, expected) ? 'report_data is the binding of this document' : `report_data ${toHex(r.reportData)} is not the binding ${toHex(expected)}`))
  const debug = debugAllowed(r.policy)
  checks.push(check('sev-snp:debug-policy', !debug || opts.allowDebug === true,
    debug ? (opts.allowDebug === true ? 'DEBUG is allowed (accepted by configuration)' : 'the guest policy allows DEBUG: the host can read guest memory') : `DEBUG off (policy 0x${r.policy.toString(16)})`))
  checks.push(trustedListCheck('sev-snp:measurement', toHex(r.measurement), opts.trustedMeasurements, 'launch measurement'))
  const chain = await verifyChain('sev-snp', certs, { roots: opts.rootCerts, intermediates: opts.intermediateCerts, now: vopts.now ?? new Date() })
  checks.push(...chain.checks)
  const leaf = certs[0]
  checks.push(...guarded('sev-snp:vcek-binding', () => vcekBinding(r, leaf)))
  checks.push(...guarded('sev-snp:signature', () => {
    if (leaf === undefined) return check('sev-snp:signature', false, 'no VCEK in the evidence')
    const ok = verifiesWith(leaf, r.signed, r.signature)
    return check('sev-snp:signature', ok, ok ? 'the report is signed by the VCEK' : 'the report signature does not verify with the VCEK')
  }))
  return checks
}

function evidenceFields(evidence: Value): { reportB64: string; pems: string[] } {
  if (!isMessage(evidence)) throw new Error('SEV-SNP evidence must be {report, certificates}')
  const { report, certificates } = evidence as Message
  if (typeof report !== 'string') throw new Error('SEV-SNP evidence has no base64 "report"')
  if (!Array.isArray(certificates) || !certificates.every((c): c is string => typeof c === 'string')) {
    throw new Error('SEV-SNP evidence "certificates" must be a list of PEM strings')
  }
  return { reportB64: report, pems: certificates }
}

function vcekBinding(r: SnpReport, leaf: Certificate | undefined): Check {
  const name = 'sev-snp:vcek-binding'
  if (r.signingKey === SNP_SIGNING_KEY.none) return check(name, false, 'the report says it is not signed (signing_key = none)')
  if (leaf === undefined) return check(name, false, 'no VCEK in the evidence')
  const tcb: Partial<Tcb> = {}
  for (const field of ['bootloader', 'tee', 'snp', 'microcode'] as const) {
    const value = extensionValue(leaf, VCEK_OIDS[field])
    if (value !== undefined) tcb[field] = smallInteger(value)
  }
  const mismatched = (['bootloader', 'tee', 'snp', 'microcode'] as const).filter((f) => tcb[f] === undefined || tcb[f] !== r.reportedTcb[f])
  if (mismatched.length > 0) {
    return check(name, false, `the certificate's TCB (${mismatched.map((f) => `${f}=${tcb[f] ?? 'absent'}`).join(', ')}) is not the reported TCB ${tcbText(r.reportedTcb)}`)
  }
  if (r.signingKey === SNP_SIGNING_KEY.vlek) return check(name, true, `VLEK (cloud-provisioned, not chip-bound); TCB ${tcbText(r.reportedTcb)}`)
  const hwid = extensionValue(leaf, VCEK_OIDS.hwid)
  if (hwid === undefined) return check(name, false, 'the VCEK has no hwID extension')
  if (r.maskChipKey || r.chipId.every((b) => b === 0)) return check(name, false, 'the report masks its chip_id, so the VCEK cannot be matched to the chip')
  const ok = bytesEqual(octetsOrRaw(hwid, 64), r.chipId)
  return check(name, ok, ok ? `VCEK of chip ${toHex(r.chipId).slice(0, 16)}…, TCB ${tcbText(r.reportedTcb)}` : 'the VCEK belongs to another chip (hwID ≠ chip_id)')
}
