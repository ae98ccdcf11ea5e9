/**
 * @packageDocumentation
 * `meta@1.0`: the node describing itself. `info` returns the public node configuration, the
 * node's `address` and its `operator`; `info/address` reads that one key as plain text
 * (aoconnect's `spawn` needs it); `build` names the software (name, version, git commit).
 *
 * `POST /~meta@1.0/info` changes the node's runtime settings, as HyperBEAM's `dev_meta` does.
 * The request must carry a commitment by the operator that verifies (an httpsig signature or
 * an ANS-104 item; devices/message/verify.ts checks it cryptographically, so a commitment
 * pasted into a body is worth nothing), and every key it changes must be one that commitment
 * covers: unsigned query keys cannot ride along. Unsigned, or signed by someone else → 403;
 * once `initialized=permanent`, every change → 403 `config-frozen`. Which keys may change, and
 * how changes persist, is the node's business (node/settings.ts).
 *
 * @example
 * ```sh
 * curl -H 'accept: application/json' localhost:8734/~meta@1.0/info
 * curl localhost:8734/~meta@1.0/info/address     # 43 characters
 * ```
 */
import { ForbiddenError } from '../../core/errors.js'
import type { Device, Message, ResolveContext } from '../../core/types.js'
import { checkCommitments } from '../message/verify.js'

export const META_DEVICE_NAME = 'meta@1.0'

/** Keys a config request carries for the protocol's sake, never as settings. */
const PROTOCOL_KEYS = new Set([
  'path', 'commitments', 'signing-format', 'inline-body-key', 'ao-types', 'accept-codec', 'require-codec',
  'accept-bundle', 'codec-device', 'content-type', 'data-protocol', 'variant', 'type', 'body', 'data', 'target', 'anchor',
])

/** What the node lets meta@1.0 change. */
export interface MetaSettings {
  operator(): string
  /** Validates and applies the change; refuses when frozen or replayed. */
  apply(changes: Message, by: { committer: string; commitment: string }): Promise<Message>
}

export interface MetaInit {
  /** The public part of the node configuration, read at call time (it may change). */
  publicInfo(): Message
  /** Software identity. */
  build: Message
  /** Runtime settings; without them a POST is refused (a read-only node). */
  settings?: MetaSettings
}

export function metaDevice(init: MetaInit): Device {
  return {
    name: META_DEVICE_NAME,
    info: { description: 'The node itself: public configuration, address, operator and build; operator-signed updates.' },
    exports: ['info', 'build'],
    // The configuration can change between two identical requests: never answer from cache.
    deterministic: false,
    keys: {
      info: async (_base, req, ctx) => {
        if (ctx.method !== 'POST') return init.publicInfo()
        await update(init, req, ctx)
        return init.publicInfo()
      },
      build: () => ({ ...init.build }),
    },
  }
}

async function update(init: MetaInit, req: Message, ctx: ResolveContext): Promise<void> {
  if (init.settings === undefined) throw new ForbiddenError('meta: this node takes no configuration over HTTP', { code: 'read-only-config' })
  const operator = init.settings.operator()
  const reports = checkCommitments(req)
  const signed = reports.find((r) => r.valid && r.committer === operator)
  if (signed === undefined) {
    const signers = reports.filter((r) => r.valid && r.committer !== undefined).map((r) => r.committer!)
    throw signers.length === 0
      ? new ForbiddenError('meta: a configuration change must be signed by the operator', { code: 'signature-required' })
      : new ForbiddenError('meta: only the operator may change the configuration', { code: 'not-operator', detail: { signers } })
  }
  const changes: Message = {}
  for (const [key, value] of Object.entries(req)) {
    if (PROTOCOL_KEYS.has(key) || key.startsWith('priv')) continue
    if (!signed.committed.includes(key)) {
      throw new ForbiddenError(`meta: "${key}" is not covered by the operator's signature`, { code: 'uncommitted-config-key', detail: { key } })
    }
    changes[key] = value
  }
  ctx.log.info({ committer: signed.committer, commitment: signed.id, keys: Object.keys(changes) }, 'configuration change')
  await init.settings.apply(changes, { committer: signed.committer!, commitment: signed.id })
}

export default metaDevice
