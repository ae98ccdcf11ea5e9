// Runs once before the suite: one node wallet for every test node (RSA-4096 key generation
// takes seconds on 2 cores, so tests share one instead of minting their own).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { loadOrCreateWallet } from '../../node/wallet-file.js'

export default async function setup(project: TestProject): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hashbeam-wallet-'))
  const walletPath = join(dir, 'wallet.json')
  await loadOrCreateWallet(walletPath)
  project.provide('walletPath', walletPath)
}

declare module 'vitest' {
  export interface ProvidedContext {
    walletPath: string
  }
}
