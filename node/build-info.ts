/**
 * @module
 * Name, version and commit of the running software (`meta@1.0/build`, `hashbeam --version`).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Message } from '../core/types.js'
import { packageRoot } from './package-root.js'

/** Name, version and commit of this software, for `meta@1.0/build`. */
export function buildInfo(): Message {
  let version = '0.0.0'
  try {
    version = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    // Running from an unusual layout: the version is informational only.
  }
  let commit = process.env.HASHBEAM_COMMIT ?? 'unknown'
  try {
    const head = readFileSync(join(packageRoot(), '.git/HEAD'), 'utf8').trim()
    commit = head.startsWith('ref: ') ? readFileSync(join(packageRoot(), '.git', head.slice(5)), 'utf8').trim() : head
  } catch {
    // Not a git checkout (an npm install): keep the env value or "unknown".
  }
  return { name: 'hashbeam', version, commit, node: process.version }
}
