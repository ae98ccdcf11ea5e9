/**
 * @module
 * Reading and writing the `Signature-Input` and `Signature` fields (RFC 9421 §4). Both are
 * dictionaries keyed by label; a label's input is the covered-component inner list with the
 * signature parameters, its signature a byte sequence. The `@signature-params` line of the base
 * is the input re-serialised (§2.3), so parameter order and types survive exactly as sent.
 */
import { parseDictionary, serializeDictionary, type Parameters } from 'structured-headers'
import { InvalidSignatureError } from '../../core/errors.js'
import { CODE } from './constants.js'
import type { ComponentId } from './components.js'
import { serializeSignatureParams } from './signature-base.js'
import { parseBinaryDictionary } from './encoding.js'

/** One labelled signature as received. */
export interface SignatureEntry {
  readonly label: string
  readonly components: readonly ComponentId[]
  /** Signature parameters in received order (`created`, `keyid`, `alg`, …). */
  readonly params: Parameters
  /** The serialised `@signature-params` value. */
  readonly paramsValue: string
  readonly signature: Uint8Array
}

/** The parameters whose types RFC 9421 §2.3 fixes. */
const INTEGER_PARAMS = ['created', 'expires']
const STRING_PARAMS = ['keyid', 'alg', 'nonce', 'tag']

/** Pairs every `Signature-Input` member with its `Signature` member; throws on any mismatch. */
export function parseSignatureFields(signatureInput: string, signature: string): SignatureEntry[] {
  const inputs = parseInputs(signatureInput)
  const signatures = parseBinaryDictionary(signature)
  if (signatures === undefined) throw malformed('the Signature field is not a dictionary of byte sequences')
  for (const label of signatures.keys()) {
    if (!inputs.has(label)) throw malformed(`signature "${label}" has no Signature-Input`)
  }
  return [...inputs].map(([label, { components, params }]) => {
    const bytes = signatures.get(label)
    if (bytes === undefined) throw malformed(`Signature-Input "${label}" has no Signature`)
    if (bytes.length === 0) throw malformed(`signature "${label}" is empty`)
    return { label, components, params, paramsValue: serializeSignatureParams(components, params), signature: bytes }
  })
}

function parseInputs(text: string): Map<string, { components: ComponentId[], params: Parameters }> {
  let dictionary
  try {
    dictionary = parseDictionary(text)
  } catch (cause) {
    throw new InvalidSignatureError(`httpsig: Signature-Input is not a structured dictionary: ${(cause as Error).message}`, {
      code: CODE.malformed, cause,
    })
  }
  const out = new Map<string, { components: ComponentId[], params: Parameters }>()
  for (const [label, member] of dictionary) {
    const [items, params] = member
    if (!Array.isArray(items)) throw malformed(`Signature-Input "${label}" is not an inner list`)
    const components = items.map(([name, componentParams]) => {
      if (typeof name !== 'string') throw malformed(`Signature-Input "${label}" lists a non-string component`)
      return { name, params: componentParams }
    })
    checkParamTypes(label, params)
    out.set(label, { components, params })
  }
  return out
}

function checkParamTypes(label: string, params: Parameters): void {
  for (const name of INTEGER_PARAMS) {
    const value = params.get(name)
    if (value !== undefined && !Number.isInteger(value)) throw malformed(`"${label}": ${name} must be an integer`)
  }
  for (const name of STRING_PARAMS) {
    const value = params.get(name)
    if (value !== undefined && typeof value !== 'string') throw malformed(`"${label}": ${name} must be a string`)
  }
}

/** The two header values for a set of labelled signatures (used when signing). */
export function serializeSignatureFields(entries: readonly Pick<SignatureEntry, 'label' | 'components' | 'params' | 'signature'>[]): {
  'signature-input': string
  signature: string
} {
  const inputs = new Map(entries.map((e) => [e.label, [e.components.map((c) => [c.name, c.params]), e.params]] as const))
  const signatures = new Map(entries.map((e) => [e.label, [e.signature, new Map()]] as const))
  return {
    'signature-input': serializeDictionary(inputs as never),
    signature: serializeDictionary(signatures as never),
  }
}

const malformed = (message: string) => new InvalidSignatureError(`httpsig: ${message}`, { code: CODE.malformed })
