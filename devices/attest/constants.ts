/**
 * @module
 * Fixed values of attest@1.0. Everything here is part of the wire format of reports and
 * receipts: a verifier recomputes hashes with these exact strings, so changing one is a format
 * version bump (`ATTEST_FORMAT`), never a silent edit.
 */
import { NON_CONTENT_KEYS } from '../../core/keys.js'

export const ATTEST_DEVICE_NAME = 'attest@1.0'

/** Names the shape of reports and receipts (and of the hashes inside them). */
export const ATTEST_FORMAT = 'hashbeam-attest/1'

/** `type` of the two documents this device signs. */
export const REPORT_TYPE = 'attestation-report'
export const RECEIPT_TYPE = 'inference-receipt'

/** A caller's nonce: hex, 16 to 64 bytes (enough entropy, and fits SNP's 64-byte report_data). */
export const NONCE_MIN_BYTES = 16
export const NONCE_MAX_BYTES = 64

/**
 * Trust labels, weakest first. A document is labelled `tee-attested` only when TEE evidence was
 * verified and binds it; anything less is `self-signed`. Nothing ever upgrades a label.
 */
export const TRUST_LABELS = ['self-signed', 'tee-attested'] as const
export type TrustLabel = (typeof TRUST_LABELS)[number]

/**
 * Domain separator of the TEE binding: the 32 bytes handed to the hardware are
 * sha256(DAG-CBOR {context, body}), body = the report without `tee`, `trust` and `commitments`.
 */
export const TEE_BINDING_CONTEXT = 'hashbeam/attest/tee-binding/1'

/** Keys of a report excluded from the TEE binding (they are computed after it, or sign it). */
export const UNBOUND_REPORT_KEYS = ['tee', 'trust', 'commitments'] as const

/** The fields of a receipt whose canonical encoding's sha256 is the receipt's nonce. */
export const RECEIPT_FIELDS = ['request', 'result', 'hashpath', 'model-sha256', 'profile-id', 'usage'] as const

/** Request keys the HTTP verify call may carry beside the document (never part of it). */
export const VERIFY_OPTION_KEYS = ['expected-nonce', 'expected-address'] as const

/**
 * Request keys that are transport, not document, when a document arrives as the request's own
 * keys (the JSON body spread into the request message).
 */
export const TRANSPORT_KEYS: readonly string[] = [...NON_CONTENT_KEYS, 'method', 'document', 'content-type', 'accept', 'body', ...VERIFY_OPTION_KEYS]

/** What the software measurement covers when dist/ exists, and when it does not. */
export const MEASURED_BUILD = ['dist', 'bin', 'package.json'] as const
export const MEASURED_SOURCE = ['bin', 'core', 'devices', 'node', 'package.json'] as const

/** How long probing tools (nvidia-smi, snpguest, nvattest) may take before being ignored. */
export const TOOL_TIMEOUT_MS = 10_000
