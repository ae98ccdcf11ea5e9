/**
 * @module
 * The folder holding Hashbeam's package.json, found by walking up from this module: the same
 * answer whether the code runs compiled from dist/node/ or as source under vitest from node/.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let cached: string | undefined

export function packageRoot(): string {
  if (cached !== undefined) return cached
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'hashbeam') return (cached = dir)
    const parent = dirname(dir)
    if (parent === dir) throw new Error('hashbeam: cannot find the package root (no package.json named hashbeam above this module)')
    dir = parent
  }
}
