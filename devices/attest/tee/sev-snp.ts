/**
 * @module
 * The `sev-snp` provider: an AMD SEV-SNP attestation report plus its certificates, appraised
 * offline. Evidence: `{report: <base64 of the 1184 bytes>, certificates: [<PEM>, …]}`, the VCEK
 * (or VLEK) first; the ASK and ARK may be left out, the node ships AMD's.
 *
 * Checks, all named `sev-snp:…`:
 * - `parse`: 1184 bytes, version ≥ 2, signature algorithm ECDSA P-384/SHA-384;
 * - `report-data`: report_data = our 32-byte binding followed by 32 zero bytes;
 * - `debug-policy`: policy bit 19 (DEBUG) is off, else the host can read the guest's memory
 *   and the key inside it;
 * - `measurement`: the launch measurement is in the trusted list (advisory when none is set);
 * - `cert-chain`, `cert-validity`, `cert-purpose`: VCEK → ASK → a pinned ARK (x509.ts);
 * - `vcek-binding`: the VCEK's hwID extension is the report's chip_id and its TCB extensions
 *   (blSPL, teeSPL, snpSPL, ucodeSPL) equal reported_tcb — a VCEK is per chip and per TCB, so a
 *   valid VCEK of another chip or an older TCB cannot vouch for this report;
 * - `signature`: ECDSA P-384 over bytes 0x000–0x29F with the VCEK's key.
 *
 * HyperBEAM's snp@1.0 binds report_data to the node address and its config message, fetches
 * the VCEK from AMD KDS and recomputes the launch digest from committed firmware/kernel hashes;
 * here report_data binds one exact report (see report.ts), and the launch digest is compared
 * as a whole against the operator's trusted list instead of being recomputed.
 */
import type { Message, Value } from '../../../core/types.js'
import { isMessage } from '../../../core/message.js'
import { bytesEqual, check, decodeBase64, guarded, toHex, trustedListCheck, type Check, type TeeProvider, type TeeVerifyOptions } from './provider.js'
import { collectSnp, type SnpCollectOptions } from './sev-snp-collect.js'
import {
  debugAllowed, parseSnpReport, SNP_SIG_ALGO_ECDSA_P384_SHA384, SNP_SIGNING_KEY, tcbText, type SnpReport, type Tcb,
} from './sev-snp-report.js'
import { AMD_INTERMEDIATES, AMD_ROOTS } from './sev-snp-roots.js'
import { octetsOrRaw, smallInteger } from './vendor-extensions.js'
import { extensionValue, parseCertificate, verifiesWith, verifyChain, type Certificate } from './x509.js'

export interface SevSnpOptions {
  /** Trust anchors (PEM); default AMD's Milan and Genoa ARKs. Tests inject their own. */
  roots?: readonly string[]
  /** Intermediates evidence may omit; default AMD's ASKs. */
  intermediates?: readonly string[]
  /** Trusted launch measurements, 96 hex characters each. */
  trustedMeasurements?: readonly string[]
  /** Accept a debuggable guest (for development only). Default false. */
  allowDebug?: boolean
  /** How to collect on this machine; `false` never collects (a verify-only provider). */
  collect?: SnpCollectOptions | false
}

/** OIDs of AMD's VCEK extensions (AMD "VCEK certificate and KDS interface" specification). */
export const VCEK_OIDS = {
  bootloader: '1.3.6.1.4.1.3704.1.3.1', tee: '1.3.6.1.4.1.3704.1.3.2', snp: '1.3.6.1.4.1.3704.1.3.3',
  microcode: '1.3.6.1.4.1.3704.1.3.8', hwid: '1.3.6.1.4.1.3704.1.4', productName: '1.3.6.1.4.1.3704.1.2',
} as const

/** The 64-byte report_data for a binding: zero-padded (our 32-byte bindings) or cut to 64. */
export function snpReportData(binding: Uint8Array): Uint8Array {
  const out = new Uint8Array(64)
  out.set(binding.subarray(0, 64))
  return out
}

export function sevSnpProvider(opts: SevSnpOptions = {}): TeeProvider {
  const roots = (opts.roots ?? AMD_ROOTS).map((pem, i) => parseCertificate(pem, `SEV-SNP root ${i}`))
  const intermediates = (opts.intermediates ?? AMD_INTERMEDIATES).map((pem, i) => parseCertificate(pem, `SEV-SNP intermediate ${i}`))
  return {
    type: 'sev-snp',
    async collect(binding) {
      if (opts.collect === false) return undefined
      const got = await collectSnp(snpReportData(binding), opts.collect ?? {})
      if (got === undefined) return undefined
      return { report: Buffer.from(got.report).toString('base64'), certificates: got.certificates }
    },
    async verify(evidence, binding, vopts) {
      return verifySnp(evidence, binding, { ...opts, rootCerts: roots, intermediateCerts: intermediates }, vopts)
    },
  }
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
