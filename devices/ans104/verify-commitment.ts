/**
 * @module
 * Re-verifying a stored `ans104@1.0` commitment from the message that carries it.
 *
 * The item is rebuilt from the commitment (signature type, owner from `keyid`, the signature,
 * the tags in their signed order from `original-tags`) and the message (target, anchor, and the
 * data under the data key). Then two checks: the rebuilt item's signature verifies, and
 * converting it back into a message (message.ts) gives, for every committed key, the value the
 * message holds now. So a commitment stays valid exactly as long as the keys it signed are
 * unchanged, whatever else was added around them (the path of a request step, for instance).
 *
 * The commitment's `committed` list only says how to rebuild the item (whether the message's
 * `target`, `anchor` and data key were item fields); a wrong list rebuilds another item, whose
 * signature then fails. The keys the commitment covers are those of the rebuilt item: its tags,
 * target, anchor and data. A `path` tag is not among them: on a request it named the HTTP path
 * and was checked against it on arrival (node/http-identity.ts), while each message of the
 * request's chain holds its own step as `path`, so it is neither compared nor counted as signed.
 */
import { sha256 } from '../../core/sha256.js'
import { fromBase64Url, isAoId, toBase64Url } from '../../core/id.js'
import { isMessage } from '../../core/message.js'
import type { Message, Value } from '../../core/types.js'
import { addressOf } from '../../identity/keys.js'
import { sameValue, type CommitmentCheck } from '../httpsig/index.js'
import { encodeTags, type Tag } from './avro-tags.js'
import { DATA_KEY_TAG, DEFAULT_DATA_KEY, SIGNATURE_TYPES, type SignatureType } from './constants.js'
import type { DataItem } from './data-item.js'
import { dataItemToMessage } from './message.js'

const fail = (reason: string): CommitmentCheck => ({ valid: false, reason })

/** Checks one `ans104@1.0` commitment of `message`. Never throws. */
export function verifyAns104Commitment(message: Message, id: string, commitment: Message): CommitmentCheck {
  try {
    const signatureType = signatureTypeOf(commitment.type)
    if (signatureType === undefined) return fail(`unknown ANS-104 commitment type "${String(commitment.type)}"`)
    const keyid = typeof commitment.keyid === 'string' ? commitment.keyid.replace(/^publickey:/, '') : ''
    const owner = fromBase64Url(keyid)
    const signature = fromBase64Url(typeof commitment.signature === 'string' ? commitment.signature : '')
    if (addressOf(owner) !== commitment.committer) return fail('the committer is not the address of the owner')
    if (toBase64Url(sha256(signature)) !== id) return fail('the commitment ID is not the hash of its signature')
    const tags = originalTags(commitment['original-tags'])
    if (tags === undefined) return fail('the commitment does not record its original tags')
    // A hint for the rebuild only (see above): never what counts as signed.
    const committed = Array.isArray(commitment.committed) ? commitment.committed.filter((k): k is string => typeof k === 'string') : []
    const item = rebuild(message, { signatureType, owner, signature, tags, committed, id })
    const { commitments: _own, path: _path, ...signed } = dataItemToMessage(item)
    for (const [key, value] of Object.entries(signed)) {
      if (!sameValue(message[key], value)) return fail(`key "${key}" differs from the signed value`)
    }
    return { valid: true, covered: Object.keys(signed).sort() }
  } catch (err) {
    return fail(err instanceof Error ? err.message : 'unverifiable commitment')
  }
}

function signatureTypeOf(type: Value | undefined): SignatureType | undefined {
  const found = Object.entries(SIGNATURE_TYPES).find(([, spec]) => spec.commitmentType === type)
  return found === undefined ? undefined : (Number(found[0]) as SignatureType)
}

function originalTags(value: Value | undefined): Tag[] | undefined {
  if (!isMessage(value)) return undefined
  const tags: Tag[] = []
  for (let i = 1; i <= Object.keys(value).length; i++) {
    const tag = value[String(i)]
    if (!isMessage(tag) || typeof tag.name !== 'string' || typeof tag.value !== 'string') return undefined
    tags.push({ name: tag.name, value: tag.value })
  }
  return tags
}

interface Parts {
  signatureType: SignatureType
  owner: Uint8Array
  signature: Uint8Array
  tags: Tag[]
  committed: string[]
  id: string
}

/** The item as it must have been signed, given the message's current values. */
function rebuild(message: Message, parts: Parts): DataItem {
  const hasTag = (name: string) => parts.tags.some((t) => t.name.toLowerCase() === name)
  const field = (name: 'target' | 'anchor'): Uint8Array | undefined => {
    const value = message[name]
    // A target/anchor field wins over a tag of the same name (message.ts): it is a field
    // when no such tag exists, or when the message holds something other than the tag's text.
    if (!parts.committed.includes(name) || typeof value !== 'string' || !isAoId(value)) return undefined
    const tag = parts.tags.find((t) => t.name.toLowerCase() === name)
    return !hasTag(name) || tag?.value !== value ? fromBase64Url(value) : undefined
  }
  const dataTag = parts.tags.find((t) => t.name.toLowerCase() === DATA_KEY_TAG)
  const dataKey = dataTag === undefined || dataTag.value === '' ? DEFAULT_DATA_KEY : dataTag.value.toLowerCase()
  const raw = parts.committed.includes(dataKey) ? message[dataKey] : undefined
  const data = raw instanceof Uint8Array ? raw : typeof raw === 'string' ? new TextEncoder().encode(raw) : new Uint8Array()
  const target = field('target')
  const anchor = field('anchor')
  return {
    id: parts.id,
    signatureType: parts.signatureType,
    signature: parts.signature,
    owner: parts.owner,
    tags: parts.tags,
    rawTags: encodeTags(parts.tags),
    data,
    committer: addressOf(parts.owner),
    ...(target !== undefined && { target }),
    ...(anchor !== undefined && { anchor }),
  }
}
