/**
 * @module
 * `verify` and `committed` over every kind of commitment a message may carry, dispatched on the
 * commitment's `commitment-device`:
 *
 * - `httpsig@1.0`: an RFC 9421 signature from an HTTP request (devices/httpsig);
 * - `ans104@1.0`: a signed ANS-104 data item (devices/ans104);
 * - `message@1.0`: a native commitment over the unsigned ID (commit.ts).
 *
 * Each commitment is checked on its own and reported with its ID and committer; the message is
 * `valid` when it has at least one commitment and all of them verify (a message nobody vouches
 * for is not "valid"). Also checked for every kind: a public-key commitment's ID is the hash of
 * its signature, so IDs cannot be reassigned.
 *
 * The keys a commitment covers come from its verifier, derived from what was signed (the lines
 * of an httpsig base, the tags and fields of a rebuilt ANS-104 item, every key for a native
 * commitment). The `committed` list a commitment carries is never believed: anyone can add a
 * key to it without touching the signature. Keys outside the covered set are not signed.
 */
import { sha256 } from '../../core/sha256.js'
import { UnprocessableError } from '../../core/errors.js'
import { toBase64Url } from '../../core/id.js'
import { isMessage } from '../../core/message.js'
import type { Message } from '../../core/types.js'
import { verifyAns104Commitment } from '../ans104/index.js'
import { decodeBase64Any, verifyHttpsigCommitment, type CommitmentCheck } from '../httpsig/index.js'
import { NATIVE_COMMITMENT_DEVICE, verifyNativeCommitment } from './commit.js'

/** One checked commitment. */
export interface CommitmentReport extends CommitmentCheck {
  readonly id: string
  readonly device: string
  readonly type: string
  readonly committer?: string
  /** The keys the signature really covers, sorted; empty when it does not verify. */
  readonly committed: readonly string[]
}

/** The commitments of a message as a map; 422 when `commitments` is not a map of maps. */
export function commitmentsOf(message: Message): Record<string, Message> {
  const commitments = message.commitments
  if (commitments === undefined) return {}
  if (!isMessage(commitments) || !Object.values(commitments).every(isMessage)) {
    throw new UnprocessableError('message: "commitments" must be a map of commitment messages', { code: 'invalid-commitments' })
  }
  return commitments as Record<string, Message>
}

/** Checks every commitment of `message`. */
export function checkCommitments(message: Message): CommitmentReport[] {
  return Object.entries(commitmentsOf(message)).map(([id, commitment]) => {
    const device = String(commitment['commitment-device'] ?? '')
    const { covered, ...check } = checkOne(message, id, device, commitment)
    return {
      id, device, type: String(commitment.type ?? ''), ...check, committed: check.valid ? covered ?? [] : [],
      ...(typeof commitment.committer === 'string' && { committer: commitment.committer }),
    }
  })
}

function checkOne(message: Message, id: string, device: string, commitment: Message): CommitmentCheck {
  switch (device) {
    case 'httpsig@1.0': {
      const signature = typeof commitment.signature === 'string' ? decodeBase64Any(commitment.signature) : undefined
      const expected = signature === undefined ? undefined
        : toBase64Url(commitment.type === 'hmac-sha256' ? signature : sha256(signature))
      if (expected !== id) return { valid: false, reason: 'the commitment ID does not match its signature' }
      return verifyHttpsigCommitment(message, commitment)
    }
    case 'ans104@1.0': return verifyAns104Commitment(message, id, commitment)
    case NATIVE_COMMITMENT_DEVICE: return verifyNativeCommitment(message, id, commitment)
    default: return { valid: false, reason: `unknown commitment device "${device}"` }
  }
}

/**
 * `verify`: `{valid, commitments: [{id, commitment-device, type, committer, valid, committed,
 * reason?}]}`, where `committed` lists the keys each signature really covers and holds.
 */
export function verifyReport(message: Message): Message {
  const reports = checkCommitments(message)
  return {
    valid: reports.length > 0 && reports.every((r) => r.valid),
    commitments: reports.map((r): Message => ({
      id: r.id, 'commitment-device': r.device, type: r.type, valid: r.valid,
      committed: r.committed.filter((key) => key in message),
      ...(r.committer !== undefined && { committer: r.committer }),
      ...(r.reason !== undefined && { reason: r.reason }),
    })),
  }
}

/**
 * `committed`: the keys every valid commitment covers (HyperBEAM takes the intersection, so a
 * key counts as committed only when all signers vouch for it), restricted to keys the message
 * has, sorted. Empty when nothing verifies.
 */
export function committedKeys(message: Message): string[] {
  const valid = checkCommitments(message).filter((r) => r.valid)
  if (valid.length === 0) return []
  const [first, ...rest] = valid
  return first!.committed
    .filter((key) => key in message && rest.every((r) => r.committed.includes(key)))
    .sort()
}
