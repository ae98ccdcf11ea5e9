/**
 * @module
 * A verified data item as an AO-Core message, after HyperBEAM's `dev_codec_ans104_from`:
 *
 * - tags become keys, lower-cased (`Data-Protocol` → `data-protocol`); a name repeated (in any
 *   case) becomes a list of its values in order; an `ao-types` tag types the values, as over
 *   HTTP; `ao-data-key` names the key the data goes to (default `body`);
 * - `target` and `anchor` become base64url strings under those keys (a process ID is a target);
 * - the data, when not empty, is the body, as bytes;
 * - precedence on a clash: data, then target/anchor, then tags (HyperBEAM's order);
 * - `commitments` holds one `ans104@1.0` commitment keyed by the item ID (sha256 of the
 *   signature) with the committer, `keyid` = `publickey:<owner>`, and `original-tags` (the tags
 *   in their signed order and case, whenever there are tags), so the exact item can be rebuilt
 *   and its signature checked again from the message alone (verify-commitment.ts).
 */
import { InvalidRequestError, InvalidSignatureError } from '../../core/errors.js'
import { toBase64Url } from '../../core/id.js'
import type { Message, Value } from '../../core/types.js'
import { decodeTypedFields } from '../httpsig/index.js'
import { ANS104_DEVICE, CODE, DATA_KEY_TAG, DEFAULT_DATA_KEY, SIGNATURE_TYPES } from './constants.js'
import type { DataItem } from './data-item.js'
import { verifyDataItem } from './signing.js'

/** Verifies the item and converts it; a bad signature is InvalidSignatureError (400). */
export function dataItemToMessage(item: DataItem): Message {
  if (!verifyDataItem(item)) {
    throw new InvalidSignatureError(`ans104: the signature of data item ${item.id} does not verify`, {
      code: CODE.badSignature, detail: { id: item.id },
    })
  }
  const message = tagsToMessage(item)
  if (item.target !== undefined) message.target = toBase64Url(item.target)
  if (item.anchor !== undefined) message.anchor = toBase64Url(item.anchor)
  const dataKey = dataKeyOf(item)
  if (item.data.length > 0) message[dataKey] = item.data
  const commitment: Message = {
    'commitment-device': ANS104_DEVICE,
    type: SIGNATURE_TYPES[item.signatureType]!.commitmentType,
    keyid: `publickey:${toBase64Url(item.owner)}`,
    committer: item.committer,
    committed: Object.keys(message).sort(),
    signature: toBase64Url(item.signature),
  }
  if (item.tags.length > 0) {
    commitment['original-tags'] = Object.fromEntries(item.tags.map((t, i) => [String(i + 1), { name: t.name, value: t.value }]))
  }
  return { ...message, commitments: { [item.id]: commitment } }
}

function tagsToMessage(item: DataItem): Message {
  const grouped = new Map<string, string[]>()
  for (const { name, value } of item.tags) {
    const key = name.toLowerCase()
    if (key === '') throw new InvalidRequestError('ans104: a tag has an empty name', { code: CODE.badMessage })
    if (key === DATA_KEY_TAG) continue
    grouped.set(key, [...(grouped.get(key) ?? []), value])
  }
  const single: Record<string, string> = {}
  const repeated: Record<string, Value> = {}
  for (const [key, values] of grouped) {
    if (values.length === 1) single[key] = values[0]!
    else repeated[key] = values
  }
  return { ...decodeTypedFields(single), ...repeated }
}

function dataKeyOf(item: DataItem): string {
  const tag = item.tags.find((t) => t.name.toLowerCase() === DATA_KEY_TAG)
  return tag === undefined || tag.value === '' ? DEFAULT_DATA_KEY : tag.value.toLowerCase()
}
