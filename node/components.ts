/**
 * @module
 * The components every device builder receives (core/types.ts `DeviceComponents`), built once
 * per node: the store, a logger, the public options, a signer over the node's wallet (the key
 * stays in identity/signer.ts), a view of the node's resolver (built before the devices, over a
 * registry they join once built: core/registry.ts `openRegistry`), and an HTTP client with a
 * default timeout.
 */
import { idOf } from '../core/id.js'
import { isMessage } from '../core/message.js'
import type { ResolveOptions, Resolver } from '../core/resolve.js'
import type { Store } from '../core/store.js'
import type { DeviceComponents, HttpClient, Logger, Message, ResolveResult, ResolverView } from '../core/types.js'
import { createSigner } from '../identity/signer.js'
import type { Wallet } from '../identity/keys.js'

/** How long a device's outgoing request may take unless it passes its own signal. */
export const DEVICE_FETCH_TIMEOUT_MS = 30_000

export interface ComponentsInit {
  readonly store: Store
  readonly log: Logger
  readonly options: Readonly<Record<string, unknown>>
  readonly wallet: Wallet
  readonly resolver: Resolver
}

/** A literal result as the next step's base, as the resolver does ({ao-result: body, body}). */
const asBase = (value: ResolveResult['value']): Message =>
  isMessage(value) ? value : { 'ao-result': 'body', body: value }

/** Runs a chain of messages: the first is the base, each next one a step's request. */
async function runChain(resolver: Resolver, chain: readonly Message[], opts: ResolveOptions): Promise<ResolveResult> {
  const [root = {}, ...steps] = chain
  let base = root
  let result: ResolveResult = { value: root, hashpath: idOf(root), id: idOf(root), cached: false, meta: new Map() }
  for (const req of steps) {
    result = await resolver.step(base, result.hashpath, req, opts)
    base = asBase(result.value)
  }
  return result
}

export function createComponents(init: ComponentsInit): DeviceComponents {
  const full = init.resolver
  const resolver: ResolverView = {
    resolve(path, opts = {}) {
      const options: ResolveOptions = opts.signal === undefined ? {} : { signal: opts.signal }
      return Array.isArray(path) ? runChain(full, path, options) : full.resolve(path, undefined, options)
    },
  }
  const http: HttpClient = {
    fetch: (input, req = {}) => fetch(input, { ...req, signal: req.signal ?? AbortSignal.timeout(DEVICE_FETCH_TIMEOUT_MS) }),
  }
  return { store: init.store, log: init.log, options: init.options, signer: createSigner(init.wallet), resolver, http }
}
