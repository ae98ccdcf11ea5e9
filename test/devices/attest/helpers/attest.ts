/**
 * Shared inputs of the report, receipt, verify and device tests: a fixed measurement and
 * hardware, and "TEE hardware" stand-ins — providers whose collect() produces real-format
 * evidence signed by the test PKI for whatever binding it is asked for (what configfs-tsm or
 * nvattest would do on a real machine), and whose verify() is the real provider with test roots.
 */
import { createHash } from 'node:crypto'
import type { Hardware } from '../../../../devices/attest/hardware.js'
import { combineParts, type Measurement, type MeasurementPart } from '../../../../devices/attest/measurement.js'
import { nvidiaCcProvider } from '../../../../devices/attest/tee/nvidia-cc.js'
import type { TeeProvider } from '../../../../devices/attest/tee/provider.js'
import { sevSnpProvider } from '../../../../devices/attest/tee/sev-snp.js'
import { validSnpEvidence, type AmdPki } from './snp.js'
import { validGpuEvidence, type NvidiaPki } from './spdm.js'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

export function fixedMeasurement(tag = 'v1'): Measurement {
  const parts: MeasurementPart[] = [
    { name: 'code', sha256: sha(`code ${tag}`), detail: 'built code: dist/, bin/, package.json (3 files)' },
    { name: 'package-lock.json', sha256: sha('lock'), detail: '10 bytes' },
    { name: 'node', sha256: sha('v20.19.0'), detail: 'v20.19.0' },
    { name: 'llama-cpp', sha256: sha('none'), detail: 'none' },
  ]
  return { measurement: combineParts(parts), parts, source: 'dist' }
}

export const fixedHardware: Hardware = {
  cpu: { model: 'AMD EPYC 9654 96-Core Processor', cores: 8 },
  gpus: [{ name: 'NVIDIA H200', driver: '570.86.15', memoryMib: 143771 }],
}

/** The SEV-SNP verifier a relying party would configure for the test AMD PKI. */
export const snpVerifier = (pki: AmdPki): TeeProvider => sevSnpProvider({ roots: [pki.ark.pem], intermediates: [], collect: false })
export const gpuVerifier = (pki: NvidiaPki): TeeProvider => nvidiaCcProvider({ roots: [pki.chain[pki.chain.length - 1]!.pem], collect: false })

/** A confidential VM stand-in: SNP evidence over any binding, signed by the test VCEK. */
export function snpHardware(pki: AmdPki, verifier: TeeProvider = snpVerifier(pki)): TeeProvider {
  return { type: 'sev-snp', collect: async (binding) => validSnpEvidence(pki, binding), verify: verifier.verify }
}

/** A CC-mode GPU stand-in: SPDM evidence over any binding, signed by the test FMC leaf. */
export function gpuHardware(pki: NvidiaPki, verifier: TeeProvider = gpuVerifier(pki)): TeeProvider {
  return { type: 'nvidia-cc', collect: async (binding) => ({ gpus: await validGpuEvidence(pki, binding) }), verify: verifier.verify }
}
