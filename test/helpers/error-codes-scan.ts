/**
 * @module
 * Finds every error code the source can throw, by reading it: `code: 'x'` at a throw site, a
 * kebab-case code passed to a local error helper (`bad('x', …)`, `invalid(…, 'x')`), the
 * `CODE`-style constant tables, and each error class's default code. Used by
 * test/core/error-codes.test.ts to check that core/errors.ts's table and docs/http-api.md name
 * them all.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const ROOTS = ['core', 'devices', 'node', 'identity']
const CODE_SHAPE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$|^[a-z]+$/

function* tsFiles(dir: string): Generator<string> {
  let names: string[]
  try { names = readdirSync(dir) } catch { return }
  for (const name of names) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) yield* tsFiles(path)
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) yield path
  }
}

const PATTERNS: readonly RegExp[] = [
  // { code: 'x' } and { code: cond ? 'x' : 'y' }
  /\bcode: '([a-z0-9-]+)'/g,
  /\bcode: [^,}\n]*\? '([a-z0-9-]+)' : '([a-z0-9-]+)'/g,
  // local helpers whose first argument is the code
  /\b(?:bad|fail|limitError|refuseWith|coded|rule)\(\s*'([a-z0-9-]+)'/g,
  // local helpers whose last argument is the code: invalid('message', 'code')
  /\binvalid\([^\n]*?, '([a-z0-9-]+)'(?:,|\))/g,
  // super(status, 'code', …) in an error class, a class's default code
  /this\.code = options\.code \?\? '([a-z0-9-]+)'/g,
  /\bsuper\(\d{3}, '([a-z0-9-]+)'/g,
]

// CODE = { name: 'code', … } tables (httpsig, ans104): every value is a code.
const TABLE = /export const [A-Z_]*CODE[A-Z_]* = \{([^}]*)\}/g
const TABLE_VALUE = /:\s*'([a-z0-9-]+)'/g

/** Every code found, with the files it appears in. */
export function scanErrorCodes(root: string): Map<string, string[]> {
  const found = new Map<string, string[]>()
  const add = (code: string, file: string) => {
    if (!CODE_SHAPE.test(code)) return
    const files = found.get(code) ?? []
    if (!files.includes(file)) files.push(file)
    found.set(code, files)
  }
  for (const dir of ROOTS) {
    for (const file of tsFiles(join(root, dir))) {
      const text = readFileSync(file, 'utf8')
      const rel = file.slice(root.length + 1)
      for (const pattern of PATTERNS) {
        for (const m of text.matchAll(pattern)) for (const code of m.slice(1)) if (code !== undefined) add(code, rel)
      }
      for (const table of text.matchAll(TABLE)) for (const m of table[1]!.matchAll(TABLE_VALUE)) add(m[1]!, rel)
    }
  }
  return found
}
