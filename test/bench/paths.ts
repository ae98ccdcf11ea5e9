import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root, from dist/test/bench/ or test/bench/. */
const here = dirname(fileURLToPath(import.meta.url))
export const REPO_ROOT = resolve(here, here.includes('/dist/') ? '../../..' : '../..')
