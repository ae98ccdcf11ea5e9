/**
 * @module
 * Which URLs the relay may call. A registered node may be anywhere (loopback in a one-machine
 * cluster, a private network between machines): it signed its offer and the operator admitted
 * it. Any other target must be a public address: a private, loopback, link-local or otherwise
 * internal one is refused (403 `relay-target-private`), so the relay cannot be turned against
 * the router's own network (HyperBEAM's `relay-block-internal`). Host names are resolved and
 * every address they resolve to is checked.
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { ForbiddenError, InvalidRequestError } from '../../core/errors.js'

const V4_PRIVATE: ReadonlyArray<readonly [number, number]> = [
  [0x00000000, 8], [0x0a000000, 8], [0x64400000, 10], [0x7f000000, 8], [0xa9fe0000, 16], [0xac100000, 12],
  [0xc0000000, 24], [0xc0a80000, 16], [0xc6120000, 15], [0xe0000000, 4], [0xf0000000, 4],
]

function v4Private(ip: string): boolean {
  const n = ip.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0
  return V4_PRIVATE.some(([net, bits]) => (n >>> (32 - bits)) === (net >>> (32 - bits)))
}

/** Whether an IP address is internal: private, loopback, link-local, unspecified, multicast. */
export function isInternalAddress(ip: string): boolean {
  if (isIP(ip) === 4) return v4Private(ip)
  const lower = ip.toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (mapped?.[1] !== undefined) return v4Private(mapped[1])
  return lower === '::' || lower === '::1' || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower) || /^ff/.test(lower)
}

/** The origin of an http(s) URL; 400 `relay-target` for anything else. */
export function targetOrigin(url: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new InvalidRequestError(`relay: "${url.slice(0, 200)}" is no URL`, { code: 'relay-target' })
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidRequestError('relay: a target is http(s)', { code: 'relay-target' })
  if (parsed.username !== '' || parsed.password !== '') throw new InvalidRequestError('relay: a target URL carries no credentials', { code: 'relay-target' })
  return parsed
}

/** The vetted address a connection must use (its host name resolved once, here). */
export interface PinnedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/**
 * Resolves when the relay may call `url`: its origin is a registered node's (undefined: connect
 * as usual), or every address its host resolves to is public — then to the address the
 * connection must use, so a name that resolves differently a moment later (DNS rebinding)
 * cannot steer the request to an internal address.
 */
export async function checkTarget(url: string, registered: (origin: string) => boolean): Promise<PinnedAddress | undefined> {
  const parsed = targetOrigin(url)
  if (registered(parsed.origin)) return undefined
  const host = parsed.hostname.replace(/^\[|\]$/g, '')
  let addresses: string[]
  if (isIP(host) !== 0) addresses = [host]
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address)
    } catch {
      throw new InvalidRequestError(`relay: cannot resolve "${host.slice(0, 200)}"`, { code: 'relay-target' })
    }
  }
  if (addresses.length === 0 || addresses.some(isInternalAddress)) {
    throw new ForbiddenError('relay: the target is a private or loopback address and no registered node', { code: 'relay-target-private', detail: { target: parsed.origin } })
  }
  const address = addresses[0]!
  return { address, family: isIP(address) === 6 ? 6 : 4 }
}
