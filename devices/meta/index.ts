/**
 * @packageDocumentation
 * Folder: one device (its index.ts is its only door). May import: core/, identity/, this folder,
 * another device only through its index.ts, the libraries it needs; never node/ (eslint/boundaries.js).
 *
 * `meta@1.0`: the node describing itself. `info` returns the public node configuration, the
 * node's `address` and its `operator`; `info/address` reads that one key as plain text
 * (aoconnect's `spawn` needs it); `build` names the software (name, version, git commit).
 *
 * `POST /~meta@1.0/info` changes the node's runtime settings, as HyperBEAM's `dev_meta` does.
 * It is a privileged action (core/authority.ts): only the operator's signature over *that*
 * HTTP request authorises it — RFC 9421 over its path, query and body digest, or a data item
 * whose `path` tag is its target — and only once. Such a signature covers every key the request
 * carries, so each change is one the operator signed; commitments carried inside the request
 * (a body, a pasted signed message) authorise nothing. Unsigned → 403 `signature-required`,
 * someone else → 403 `not-operator`, an unfit signature → its own 403 code, a replay → 403
 * `signature-replayed`; once `initialized=permanent`, every change → 403 `config-frozen`. Which
 * keys may change, and how changes persist, is the node's business (node/settings.ts).
 *
 * @example
 * ```sh
 * curl -H 'accept: application/json' localhost:8734/~meta@1.0/info
 * curl localhost:8734/~meta@1.0/info/address     # 43 characters
 * ```
 */
import { requireOperator } from '../../core/authority.js'
import { ForbiddenError } from '../../core/errors.js'
import { CODEC_FRAMING_KEYS, CONTROL_KEYS, isPrivateKey, REPLY_OPTION_KEYS } from '../../core/keys.js'
import type { Device, Message, ResolveContext } from '../../core/types.js'

export const META_DEVICE_NAME = 'meta@1.0'

/** Keys a config request carries for the protocol's sake, never as settings. */
const PROTOCOL_KEYS: ReadonlySet<string> = new Set([...CONTROL_KEYS, ...CODEC_FRAMING_KEYS, ...REPLY_OPTION_KEYS])

/** What the node lets meta@1.0 change. */
export interface MetaSettings {
  operator(): string
  /** Validates and applies the change; refuses when frozen. */
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
  const caller = await requireOperator(ctx, 'meta: a configuration change')
  const changes: Message = {}
  for (const [key, value] of Object.entries(req)) {
    if (!PROTOCOL_KEYS.has(key) && !isPrivateKey(key)) changes[key] = value
  }
  const commitment = caller.commitment ?? ''
  ctx.log.info({ committer: caller.address, commitment, keys: Object.keys(changes) }, 'configuration change')
  await init.settings.apply(changes, { committer: caller.address, commitment })
}

export default metaDevice
