/**
 * Signing privileged requests in tests, the way docs/security.md says a client must: RFC 9421
 * over `@method`, `@path` (and `@query` when the URL has one), the given headers and the body
 * digest. With the node's own wallet, pass `tag: SIGNATURE_TAG.operator` as the CLI does.
 */
import { afterAll, beforeAll } from 'vitest'
import { signRequest } from '../../devices/httpsig/index.js'
import type { HashbeamNode } from '../../node/index.js'
import type { NodeConfig } from '../../node/config.js'
import { createWallet, walletAddress, type Wallet } from '../../identity/keys.js'
import { testNode } from './node.js'

/** The base URL test requests use, and its config POST target. */
export const URL_BASE = 'http://hashbeam.test'
export const INFO_URL = `${URL_BASE}/~meta@1.0/info`

export interface PrivilegedRequest {
  readonly method?: string
  /** Absolute URL. */
  readonly url: string
  readonly headers?: Record<string, string>
  readonly body?: Uint8Array
}

export interface PrivilegedSigning {
  /** Extra RFC 9421 parameters: `created`, `expires`, `nonce`, `tag`. */
  readonly params?: Readonly<Record<string, string | number>>
  /** Leave these components out (to make a signature that does not bind). */
  readonly omit?: readonly string[]
}

/** The headers (and init) of a request signed over its own target and body. */
export function signPrivileged(wallet: Wallet, req: PrivilegedRequest, signing: PrivilegedSigning = {}): RequestInit & { headers: Record<string, string> } {
  const method = req.method ?? 'POST'
  const headers = req.headers ?? {}
  const hasBody = req.body !== undefined && req.body.length > 0
  const components = [
    '@method', '@path', ...(new URL(req.url).search === '' ? [] : ['@query']),
    ...Object.keys(headers).map((h) => h.toLowerCase()), ...(hasBody ? ['content-digest'] : []),
  ].filter((c) => !(signing.omit ?? []).includes(c))
  const signed = signRequest(wallet, { method, url: req.url, headers, ...(hasBody ? { body: req.body } : {}) }, {
    components, ...(signing.params === undefined ? {} : { params: signing.params }),
  })
  return { method, headers: signed.headers, ...(hasBody ? { body: req.body as BodyInit } : {}) }
}

/** Seconds since the epoch. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** A test node whose operator is a fresh Ed25519 wallet of their own (not the node's key). */
export async function nodeWithOwnOperator(config: Partial<NodeConfig> = {}): Promise<{ node: HashbeamNode; operator: Wallet }> {
  const operator = await createWallet('ed25519')
  const node = await testNode({ config: { operator: walletAddress(operator), ...config } })
  return { node, operator }
}

/** The same for a whole test file: started before its tests, stopped after them. */
export function useNodeWithOwnOperator(): { node: HashbeamNode; operator: Wallet } {
  const env = {} as { node: HashbeamNode; operator: Wallet }
  beforeAll(async () => {
    Object.assign(env, await nodeWithOwnOperator())
  })
  afterAll(() => env.node.stop())
  return env
}
