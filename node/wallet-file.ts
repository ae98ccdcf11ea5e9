/**
 * @module
 * The wallet on disk: a JWK file readable only by its owner (mode 0600), created on first start.
 *
 * Creation is atomic and never overwrites: the key is written and fsynced to a private temporary
 * file, then hard-linked to its final name. `link` fails when the name exists, so two nodes
 * starting at once on one data directory end up sharing the first key instead of one silently
 * replacing the other (a rename would overwrite). The loser loads the winner's file.
 */
import { constants } from 'node:fs'
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { InternalError } from '../core/errors.js'
import { createWallet, walletFromJwk, type Wallet, type WalletKind } from '../identity/keys.js'

/**
 * Loads the wallet at `file`, or creates one of `kind` there (RSA when no kind is asked for). A
 * file holding another kind of key than explicitly asked for is an error: a node must not
 * silently change its identity's algorithm.
 */
export async function loadOrCreateWallet(file: string, kind?: WalletKind): Promise<Wallet> {
  const existing = await loadWallet(file)
  if (existing !== undefined) return expectKind(existing, kind, file)
  const created = await createWallet(kind ?? 'rsa')
  const won = await writeIfAbsent(file, JSON.stringify(created.jwk))
  return won ? created : expectKind(await loadExisting(file), kind, file)
}

/** Loads and validates a wallet file; undefined when there is no such file. */
export async function loadWallet(file: string): Promise<Wallet | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new InternalError(`wallet: cannot read ${file}: ${(err as Error).message}`, { code: 'wallet-unreadable', cause: err })
  }
  let jwk: unknown
  try {
    jwk = JSON.parse(text)
  } catch (cause) {
    throw new InternalError(`wallet: ${file} is not JSON`, { code: 'invalid-wallet', cause })
  }
  return walletFromJwk(jwk)
}

async function loadExisting(file: string): Promise<Wallet> {
  const wallet = await loadWallet(file)
  if (wallet === undefined) throw new InternalError(`wallet: ${file} vanished while being created`, { code: 'wallet-unreadable' })
  return wallet
}

function expectKind(wallet: Wallet, kind: WalletKind | undefined, file: string): Wallet {
  if (kind === undefined || wallet.kind === kind) return wallet
  throw new InternalError(`wallet: ${file} holds an ${wallet.kind} key, but an ${kind} wallet was asked for`, {
    code: 'wallet-kind-mismatch',
  })
}

/** Writes `text` to `file` with mode 0600 unless `file` exists; true when this call created it. */
async function writeIfAbsent(file: string, text: string): Promise<boolean> {
  const dir = path.dirname(file)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  try {
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await link(temp, file)
    await syncDir(dir)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new InternalError(`wallet: cannot create ${file}: ${(err as Error).message}`, { code: 'wallet-unwritable', cause: err })
  } finally {
    await unlink(temp).catch(() => undefined)
  }
}

/** Makes the new directory entry durable (a crash right after start keeps the key). */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY).catch(() => undefined)
  if (handle === undefined) return
  try {
    await handle.sync()
  } catch {
    // Some filesystems refuse fsync on directories; the file itself is already synced.
  } finally {
    await handle.close()
  }
}
