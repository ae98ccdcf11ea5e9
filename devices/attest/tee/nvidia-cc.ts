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
import { isMessage } from '../../../core/message.js'
import type { Message, Value } from '../../../core/types.js'
import { runTool, type RunTool } from '../hardware.js'
import { check, onFirstUse, toHex, type TeeProvider } from './provider.js'

export interface NvidiaCcOptions {
  /** Trust anchors (PEM); default NVIDIA's device identity root. Tests inject their own. */
  roots?: readonly string[]
  /** Trusted sha384 digests (hex) of GPU measurement records. */
  trustedMeasurements?: readonly string[]
  /** How to collect: the nvattest executable and its arguments; `false` never collects. */
  collect?: { nvattest?: string; args?: (nonceHex: string) => string[]; run?: RunTool } | false
}

/**
 * The provider. Each GPU's appraisal lives in a module loaded on first use (see `onFirstUse`);
 * roots that do not parse fail each verification's `parse` check, saying why.
 */
export function nvidiaCcProvider(opts: NvidiaCcOptions = {}): TeeProvider {
  const gpuVerifier = onFirstUse(async () => (await import('./nvidia-cc-verify.js')).gpuVerifier(opts))
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
      let verifyGpu: Awaited<ReturnType<typeof gpuVerifier>>
      try {
        verifyGpu = await gpuVerifier()
      } catch (err) {
        return [check('nvidia-cc:parse', false, (err as Error).message)]
      }
      const perGpu = await Promise.all(entries.map((entry, i) => verifyGpu(entries.length === 1 ? 'nvidia-cc' : `nvidia-cc[${i}]`, entry, binding, vopts ?? {})))
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
