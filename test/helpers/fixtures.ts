/**
 * @module
 * Where the shared conformance fixtures live, and one rule for tests that need them: when the
 * folder is missing the suite is skipped with a printed reason, unless the environment demands
 * the fixtures (HASHBEAM_REQUIRE_FIXTURES=1), in which case the suite fails loudly.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'vitest'

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** The fixtures folder: $HASHBEAM_FIXTURES, else ../shared/fixtures beside the repository. */
export function fixturesDir(): string {
  const fromEnv = process.env.HASHBEAM_FIXTURES
  return fromEnv !== undefined && fromEnv !== '' ? path.resolve(fromEnv) : path.resolve(REPO_ROOT, '../shared/fixtures')
}

/**
 * `describe(name, …)` over `<fixturesDir>/<subdir>`; `fn` receives that folder's path. The
 * body never runs when the folder is absent (a skipped describe would still be collected).
 */
export function describeWithFixtures(name: string, subdir: string, fn: (dir: string) => void): void {
  const dir = path.join(fixturesDir(), subdir)
  if (existsSync(dir)) {
    describe(name, () => fn(dir))
    return
  }
  const reason = `fixtures not found at ${dir} (set HASHBEAM_FIXTURES)`
  if (process.env.HASHBEAM_REQUIRE_FIXTURES === '1') {
    describe(name, () => {
      it('has its fixtures', () => {
        throw new Error(`${reason}; HASHBEAM_REQUIRE_FIXTURES=1 makes this a failure`)
      })
    })
    return
  }
  console.warn(`skipping "${name}": ${reason}`)
  describe.skipIf(true)(name, () => {
    it(reason, () => {})
  })
}
