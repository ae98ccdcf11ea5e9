/**
 * @module
 * `hashbeam keygen [--out FILE] [--kind rsa|ed25519] [--data DIR]`: writes a new wallet (an
 * Arweave keyfile, mode 0600; RSA-4096 by default) and prints its address on stdout. It never
 * overwrites a key: losing a node's or an operator's key is not something a typo should do.
 * The default file is the one `hashbeam serve` uses, `<data>/wallet.json`.
 */
import { join, resolve } from 'node:path'
import { parseArgs } from './cli-args.js'
import { ConfigError } from '../core/errors.js'
import { walletAddress, type WalletKind } from '../identity/keys.js'
import { loadOrCreateWallet, loadWallet } from './wallet-file.js'

/** Checks a wallet kind given on the command line (400 → exit code 2). */
export function parseWalletKind(kind: string): WalletKind {
  if (kind !== 'rsa' && kind !== 'ed25519') {
    throw new ConfigError(`config: wallet kind is rsa or ed25519, not "${kind}"`)
  }
  return kind
}

const USAGE = 'usage: hashbeam keygen [--out FILE] [--kind rsa|ed25519] [--data DIR]\n'

export async function keygenCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: { out: { type: 'string' }, kind: { type: 'string', default: 'rsa' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  })
  if (values.help === true) {
    process.stdout.write(USAGE)
    return 0
  }
  const kind = parseWalletKind(values.kind)
  const file = resolve(values.out ?? join(values.data ?? process.env.HASHBEAM_DATA ?? '.hashbeam', 'wallet.json'))
  const existing = await loadWallet(file)
  if (existing !== undefined) {
    process.stderr.write(`hashbeam: ${file} already holds a wallet (address ${walletAddress(existing)}); not overwriting it\n`)
    return 1
  }
  const wallet = await loadOrCreateWallet(file, kind)
  process.stdout.write(`${walletAddress(wallet)}\n`)
  process.stderr.write(`wrote a ${kind === 'rsa' ? 'RSA-4096' : 'Ed25519'} wallet to ${file} (mode 0600)\n`)
  return 0
}
