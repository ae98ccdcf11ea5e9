/**
 * @module
 * `hashbeam config get [KEY]` and `hashbeam config set KEY VALUE`: read or change a running
 * node's runtime settings (node/settings.ts) over HTTP.
 *
 * `set` is the operator's privileged request (docs/security.md): it loads the wallet file
 * (`--wallet`, default `<data>/wallet.json`, the node's own, which is the default operator) and
 * signs `POST /~meta@1.0/info` with RFC 9421 over `@method`, `@path` and the body digest, with
 * `created`, a 60-second `expires`, a random `nonce` and the tag `hashbeam-operator`. That tag
 * is the only one under which the node accepts its own key for a privileged action, and the
 * node never signs anything with it. The value travels as the text body, named by
 * `inline-body-key`, so any text fits.
 *
 * @example
 * ```sh
 * hashbeam config set name my-node            # signs with ./.hashbeam/wallet.json
 * hashbeam config get name                    # → my-node
 * hashbeam config get --node http://10.0.0.2:8734
 * ```
 */
import { randomBytes } from 'node:crypto'
import { join, resolve } from 'node:path'
import { parseArgs } from './cli-args.js'
import { SIGNATURE_TAG, signRequest } from '../devices/httpsig/index.js'
import { UsageError } from './cli-options.js'
import type { Wallet } from '../identity/keys.js'
import { loadWallet } from './wallet-file.js'

export const DEFAULT_NODE_URL = 'http://127.0.0.1:8734'

/** How long a `config set` request stays valid. */
const REQUEST_LIFETIME_SECONDS = 60

const OPTIONS = {
  node: { type: 'string' },
  wallet: { type: 'string' },
  data: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

const USAGE = `usage: hashbeam config get [KEY] [--node URL]
       hashbeam config set KEY VALUE [--node URL] [--wallet FILE] [--data DIR]
  --node URL      the running node (env HASHBEAM_NODE; default ${DEFAULT_NODE_URL})
  --wallet FILE   the operator's wallet (default DATA/wallet.json: the node's own, its default operator)
  --data DIR      the node's data directory (env HASHBEAM_DATA; default ./.hashbeam)
`

/** A node refused or could not be reached: exit 1 with the reason. */
class NodeError extends Error {}

/** The signed `POST /~meta@1.0/info` that sets `key` to `value` (a text body). */
export function operatorRequest(wallet: Wallet, nodeUrl: string, key: string, value: string, now = Math.floor(Date.now() / 1000)): { url: string; init: RequestInit } {
  const url = `${nodeUrl.replace(/\/+$/, '')}/~meta@1.0/info`
  const body = new TextEncoder().encode(value)
  const headers = { 'content-type': 'text/plain; charset=utf-8', 'inline-body-key': key }
  const signed = signRequest(wallet, { method: 'POST', url, headers, body }, {
    components: ['@method', '@path', 'content-digest', 'content-type', 'inline-body-key'],
    params: { created: now, expires: now + REQUEST_LIFETIME_SECONDS, nonce: randomBytes(16).toString('base64url'), tag: SIGNATURE_TAG.operator },
  })
  return { url, init: { method: 'POST', headers: { ...signed.headers, accept: 'application/json' }, body } }
}

export async function configCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  const { values, positionals } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true })
  if (values.help === true || sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(USAGE)
    return sub === undefined ? 2 : 0
  }
  const nodeUrl = values.node ?? process.env.HASHBEAM_NODE ?? DEFAULT_NODE_URL
  try {
    if (sub === 'get') {
      if (positionals.length > 1) throw new UsageError('config get takes at most one KEY')
      const info = await send(nodeUrl, `${nodeUrl.replace(/\/+$/, '')}/~meta@1.0/info`, { headers: { accept: 'application/json' } })
      process.stdout.write(`${show(info, positionals[0])}\n`)
      return 0
    }
    if (sub === 'set') {
      const [key, value] = positionals
      if (key === undefined || value === undefined || positionals.length > 2) throw new UsageError('config set takes KEY VALUE')
      if (!/^[a-z0-9][a-z0-9-]*$/.test(key)) throw new UsageError(`config set: "${key}" is not a setting name (lower-case letters, digits, "-")`)
      if (value === '') throw new UsageError('config set: VALUE cannot be empty')
      const file = resolve(values.wallet ?? join(values.data ?? process.env.HASHBEAM_DATA ?? '.hashbeam', 'wallet.json'))
      const wallet = await loadWallet(file)
      if (wallet === undefined) throw new NodeError(`no wallet at ${file} (--wallet FILE, or --data DIR of the node)`)
      const { url, init } = operatorRequest(wallet, nodeUrl, key, value)
      process.stdout.write(`${show(await send(nodeUrl, url, init), key)}\n`)
      return 0
    }
    throw new UsageError(`config takes get or set, not "${sub}"`)
  } catch (err) {
    if (!(err instanceof NodeError)) throw err
    process.stderr.write(`hashbeam: ${err.message}\n`)
    return 1
  }
}

/** Sends a request to the node; the JSON answer, or a NodeError saying why there is none. */
async function send(nodeUrl: string, url: string, init: RequestInit): Promise<Record<string, unknown>> {
  let res: Response
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) })
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    throw new NodeError(`cannot reach the node at ${nodeUrl} (${cause?.code ?? cause?.message ?? (err as Error).message}); is it running? (--node URL)`)
  }
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new NodeError(`the node at ${nodeUrl} answered ${res.status} with something that is not JSON: ${text.slice(0, 200)}`)
  }
  if (!res.ok) {
    const { code, message } = body as { code?: string; message?: string }
    throw new NodeError(`the node refused (${res.status} ${code ?? 'error'}): ${message ?? text.slice(0, 200)}`)
  }
  return body as Record<string, unknown>
}

/** The whole info as JSON, or one key's value (text as is, anything else as JSON). */
function show(info: Record<string, unknown>, key: string | undefined): string {
  if (key === undefined) return JSON.stringify(info, null, 2)
  if (!(key in info)) throw new NodeError(`the node has no setting "${key}"`)
  const value = info[key]
  return typeof value === 'string' ? value : JSON.stringify(value)
}
