// An export signer for tests that export chains without a node: a fresh Ed25519 key.
import { commitMessage } from '../../devices/message/commit.js'
import type { ExportSigner } from '../../devices/replay/car.js'
import { createWallet, walletAddress, type Wallet } from '../../identity/keys.js'

export function signerOf(wallet: Wallet): ExportSigner {
  return { address: walletAddress(wallet), sign: (manifest) => commitMessage(manifest, wallet, 'export') }
}

export const testSigner = async (): Promise<ExportSigner> => signerOf(await createWallet('ed25519'))
