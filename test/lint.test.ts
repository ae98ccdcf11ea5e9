// The import boundaries hold and stay put: `npm run lint` (ESLint, eslint.config.js with
// eslint/boundaries.js) fails when a file breaks one. Each case writes a real file into the tree,
// lints it as `npm run lint` would, and removes it.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ESLint } from 'eslint'
import { afterAll, describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..')
const probeDir = (layer: string) => join(root, layer, `lint-probe-${process.pid}`)
const made: string[] = []
afterAll(() => { for (const dir of made) rmSync(dir, { recursive: true, force: true }) })

async function lintProbe(layer: string, source: string): Promise<string[]> {
  const dir = probeDir(layer)
  mkdirSync(dir, { recursive: true })
  made.push(dir)
  const file = join(dir, 'index.ts')
  writeFileSync(file, source)
  const [result] = await new ESLint({ cwd: root }).lintFiles([file])
  return result!.messages.map((m) => m.message)
}

describe('lint: import boundaries', () => {
  it.each([
    ['devices', "import { createNode } from '../../node/index.js'\nexport { createNode }\n", /devices\/ never import node\//],
    ['devices', "import { writeBlob } from '../store/blob-write.js'\nexport { writeBlob }\n", /only through its index\.ts/],
    ['core', "import { storeDevice } from '../../devices/store/index.js'\nexport { storeDevice }\n", /core\/ imports only core\//],
    ['core', "import { readFile } from 'node:fs/promises'\nexport { readFile }\n", /core\/ stays pure/],
    ['identity', "import { messageDevice } from '../../devices/message/index.js'\nexport { messageDevice }\n", /identity\/ imports only core\/ and identity\//],
  ])('a file in %s/ that breaks a boundary fails lint', async (layer, source, message) => {
    const messages = await lintProbe(layer, source)
    expect(messages.some((m) => message.test(m))).toBe(true)
  })

  it('a device using core/, identity/ and another device\'s index.ts passes', async () => {
    const source = [
      "import { isMessage } from '../../core/message.js'",
      "import { addressOf } from '../../identity/keys.js'",
      "import { storeDevice } from '../store/index.js'",
      'export { isMessage, addressOf, storeDevice }', '',
    ].join('\n')
    expect(await lintProbe('devices', source)).toEqual([])
  })
})
