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
import { check, onFirstUse, type Check, type TeeProvider } from './provider.js'
import type { SnpCollectOptions } from './sev-snp-collect.js'
import { snpReportData } from './sev-snp-report.js'

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

/**
 * The provider. Collection and appraisal live in modules loaded on first use (see
 * `onFirstUse`); anchors that do not parse fail each verification's `parse` check, saying why.
 */
export function sevSnpProvider(opts: SevSnpOptions = {}): TeeProvider {
  const verifier = onFirstUse(async () => (await import('./sev-snp-verify.js')).snpVerifier(opts))
  return {
    type: 'sev-snp',
    async collect(binding) {
      if (opts.collect === false) return undefined
      const { collectSnp } = await import('./sev-snp-collect.js')
      const got = await collectSnp(snpReportData(binding), opts.collect ?? {})
      if (got === undefined) return undefined
      return { report: Buffer.from(got.report).toString('base64'), certificates: got.certificates }
    },
    async verify(evidence, binding, vopts): Promise<Check[]> {
      let verify: TeeProvider['verify']
      try {
        verify = await verifier()
      } catch (err) {
        return [check('sev-snp:parse', false, (err as Error).message)]
      }
      return verify(evidence, binding, vopts)
    },
  }
}
