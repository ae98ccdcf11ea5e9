/**
 * @module
 * The NVIDIA GPU attestation report: a DMTF SPDM 1.1 GET_MEASUREMENTS request (37 bytes)
 * followed by the MEASUREMENTS response, as NVML returns it and NVIDIA's verifiers read it.
 *
 *   request:  version u8 (0x11) | code u8 (0xE0) | param1 u8 (bit 0: signature wanted)
 *             | param2 u8 (0xFF: all measurements) | nonce[32] | slot u8
 *   response: version u8 | code u8 (0x60) | param1 u8 | param2 u8 (slot) | blocks u8
 *             | record length u24 LE | record | responder nonce[32] | opaque length u16 LE
 *             | opaque data | signature (96 bytes: ECDSA P-384 r ‖ s, big-endian)
 *   record:   per block: index u8 | spec u8 (1 = DMTF) | size u16 LE
 *             | DMTF value type u8 | value size u16 LE | value
 *   opaque:   NVIDIA TLVs: type u16 LE | size u16 LE | value (driver version, VBIOS, FWID…)
 *
 * The signature covers request ‖ response up to the signature (SPDM 1.1's L1 transcript as
 * NVIDIA uses it). The nonce that binds is the *requester's*: it sits in the signed request.
 *
 * Read by hand: SPDM is a fixed little-endian binary layout, not ASN.1, and no maintained
 * JavaScript SPDM parser exists; every length is checked against its container.
 */

export const SPDM_REQUEST_SIZE = 37
export const SPDM_GET_MEASUREMENTS = 0xe0
export const SPDM_MEASUREMENTS = 0x60
/** ECDSA P-384 r ‖ s. */
export const SPDM_SIGNATURE_SIZE = 96

/** NVIDIA opaque data field types (nvtrust's OPAQUE_FIELD_ID_*). */
export const OPAQUE_FIELDS = {
  certIssuerName: 1, certAuthorityKeyId: 2, driverVersion: 3, gpuInfo: 4, sku: 5, vbiosVersion: 6,
  manufacturerId: 7, tamperDetection: 8, smc: 9, vpr: 10, nvdec0Status: 11, msrsCount: 12, cprInfo: 13,
  boardId: 14, chipSku: 15, chipSkuMod: 16, project: 17, projectSku: 18, projectSkuMod: 19, fwid: 20,
} as const

export interface MeasurementBlock {
  index: number
  /** DMTF measurement value type (bit 7 = raw bit stream, else a digest). */
  valueType: number
  value: Uint8Array
}

export interface SpdmReport {
  version: number
  requestParam1: number
  requestParam2: number
  nonce: Uint8Array
  slot: number
  blocks: MeasurementBlock[]
  /** The raw measurement record (what golden measurements are compared over). */
  record: Uint8Array
  responderNonce: Uint8Array
  opaque: Map<number, Uint8Array>
  /** Request ‖ response without the signature: what the signature covers. */
  signed: Uint8Array
  signature: Uint8Array
}

/** Parses a report; throws on any inconsistency (wrong codes, lengths that do not add up). */
export function parseSpdmReport(bytes: Uint8Array, signatureSize = SPDM_SIGNATURE_SIZE): SpdmReport {
  if (bytes.length < SPDM_REQUEST_SIZE + 8 + 32 + 2 + signatureSize) throw new Error(`an SPDM report of ${bytes.length} bytes is too short`)
  const u16 = (at: number): number => bytes[at]! | (bytes[at + 1]! << 8)
  if (bytes[1] !== SPDM_GET_MEASUREMENTS) throw new Error(`request code 0x${bytes[1]!.toString(16)} is not GET_MEASUREMENTS`)
  const version = bytes[0]!
  if (version < 0x11) throw new Error(`SPDM version ${version >> 4}.${version & 0xf} has no requester nonce in the signature`)
  if ((bytes[2]! & 1) === 0) throw new Error('the request did not ask for a signature')
  const r = SPDM_REQUEST_SIZE
  if (bytes[r] !== version) throw new Error('request and response SPDM versions differ')
  if (bytes[r + 1] !== SPDM_MEASUREMENTS) throw new Error(`response code 0x${bytes[r + 1]!.toString(16)} is not MEASUREMENTS`)
  const blockCount = bytes[r + 4]!
  const recordLength = bytes[r + 5]! | (bytes[r + 6]! << 8) | (bytes[r + 7]! << 16)
  const recordStart = r + 8
  const recordEnd = recordStart + recordLength
  const opaqueLengthAt = recordEnd + 32
  if (opaqueLengthAt + 2 > bytes.length) throw new Error('the measurement record overruns the report')
  const opaqueStart = opaqueLengthAt + 2
  const opaqueEnd = opaqueStart + u16(opaqueLengthAt)
  if (opaqueEnd + signatureSize !== bytes.length) {
    throw new Error(`lengths do not add up: ${opaqueEnd} bytes + a ${signatureSize}-byte signature ≠ ${bytes.length}`)
  }
  const record = bytes.slice(recordStart, recordEnd)
  return {
    version, requestParam1: bytes[2]!, requestParam2: bytes[3]!, nonce: bytes.slice(4, 36), slot: bytes[36]!,
    blocks: parseRecord(record, blockCount), record,
    responderNonce: bytes.slice(recordEnd, recordEnd + 32),
    opaque: parseOpaque(bytes.subarray(opaqueStart, opaqueEnd)),
    signed: bytes.slice(0, opaqueEnd), signature: bytes.slice(opaqueEnd),
  }
}

function parseRecord(record: Uint8Array, count: number): MeasurementBlock[] {
  const blocks: MeasurementBlock[] = []
  let at = 0
  for (let i = 0; i < count; i++) {
    if (at + 4 > record.length) throw new Error(`measurement block ${i + 1} is truncated`)
    const index = record[at]!
    if (record[at + 1] !== 1) throw new Error(`measurement block ${index} does not follow the DMTF specification`)
    const size = record[at + 2]! | (record[at + 3]! << 8)
    const body = record.subarray(at + 4, at + 4 + size)
    if (body.length !== size || size < 3) throw new Error(`measurement block ${index} is truncated`)
    const valueSize = body[1]! | (body[2]! << 8)
    if (3 + valueSize !== size) throw new Error(`measurement block ${index} value size ${valueSize} does not match its block size ${size}`)
    blocks.push({ index, valueType: body[0]!, value: body.slice(3) })
    at += 4 + size
  }
  if (at !== record.length) throw new Error(`the measurement record has ${record.length - at} bytes after its ${count} blocks`)
  return blocks
}

function parseOpaque(data: Uint8Array): Map<number, Uint8Array> {
  const fields = new Map<number, Uint8Array>()
  let at = 0
  while (at < data.length) {
    if (at + 4 > data.length) throw new Error('an opaque data field is truncated')
    const type = data[at]! | (data[at + 1]! << 8)
    const size = data[at + 2]! | (data[at + 3]! << 8)
    if (at + 4 + size > data.length) throw new Error(`opaque field ${type} overruns the opaque data`)
    fields.set(type, data.slice(at + 4, at + 4 + size))
    at += 4 + size
  }
  return fields
}

/** An opaque text field (driver/VBIOS version): bytes up to the first NUL. */
export function opaqueText(value: Uint8Array | undefined): string | undefined {
  if (value === undefined) return undefined
  const end = value.indexOf(0)
  return Buffer.from(end < 0 ? value : value.subarray(0, end)).toString('latin1')
}
