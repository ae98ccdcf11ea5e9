/**
 * DESIGN §10: "acknowledged writes survive a crash (kill -9) of the node". A child process
 * writes to a real fs or LMDB store and prints each key once its put resolved; the test kills
 * it with SIGKILL mid-stream, reopens the store and checks that every acknowledged key is
 * there, intact, and that no key holds torn bytes. (A kill cannot simulate power loss; the
 * fsyncs cover that and are not observable from a test.)
 *
 * The child runs the real backend code: the backend's modules are transpiled with TypeScript
 * into a temp directory, following relative imports from the backend files.
 */
import { spawn } from 'node:child_process'
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Store } from '../../../core/store.js'
import { openFsStore } from '../../../devices/store/backends/fs.js'
import { openLmdbStore } from '../../../devices/store/backends/lmdb.js'
import { CHUNK_BYTES } from '../../../devices/store/constants.js'
import { collect, tempDir } from './helpers.js'

const REPO = fileURLToPath(new URL('../../../', import.meta.url))
const ENTRY_POINTS = ['devices/store/backends/fs.ts', 'devices/store/backends/lmdb.ts']

/** Value number i: mostly small, every 25th chunked; each byte tells which write it was. */
const VALUE_OF = `(i) => new Uint8Array(i % 25 === 0 ? ${CHUNK_BYTES + 1} : 500 + (i % 7) * 300).fill(i & 255)`
// The test side of VALUE_OF (the driver receives the text above); keep the two identical.
const valueOf = (i: number): Uint8Array => new Uint8Array(i % 25 === 0 ? CHUNK_BYTES + 1 : 500 + (i % 7) * 300).fill(i & 255)

const DRIVER = `
import { openFsStore } from './devices/store/backends/fs.js'
import { openLmdbStore } from './devices/store/backends/lmdb.js'
const [kind, path] = process.argv.slice(2)
const store = kind === 'fs' ? await openFsStore({ root: path }) : await openLmdbStore({ path })
const valueOf = ${VALUE_OF}
for (let i = 0; ; i += 4) {
  // Four writers at a time, each acknowledged on its own.
  await Promise.all([0, 1, 2, 3].map(async (j) => {
    await store.put('k/' + (i + j), valueOf(i + j))
    process.stdout.write('ack ' + (i + j) + '\\n')
  }))
}
`

/** Transpiles the entry points and every module they import into `outDir`. */
async function buildBackends(outDir: string): Promise<void> {
  const queue = [...ENTRY_POINTS]
  const done = new Set<string>()
  while (queue.length > 0) {
    const file = queue.pop()!
    if (done.has(file)) continue
    done.add(file)
    const sourceText = await readFile(join(REPO, file), 'utf8')
    for (const [, spec] of sourceText.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
      queue.push(relative(REPO, join(REPO, dirname(file), `${spec}.ts`)))
    }
    const out = ts.transpileModule(sourceText, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    })
    const target = join(outDir, file.replace(/\.ts$/, '.js'))
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, out.outputText)
  }
  await writeFile(join(outDir, 'package.json'), '{"type":"module"}')
  await writeFile(join(outDir, 'driver.js'), DRIVER)
  await symlink(join(REPO, 'node_modules'), join(outDir, 'node_modules'), 'dir')
}

/** Runs the driver until `acks` writes are acknowledged, then SIGKILLs it. */
async function writeThenKill(outDir: string, kind: string, path: string, acks: number): Promise<Set<number>> {
  const child = spawn(process.execPath, [join(outDir, 'driver.js'), kind, path], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const acked = new Set<number>()
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)))
  for await (const line of createInterface({ input: child.stdout })) {
    acked.add(Number(line.split(' ')[1]))
    if (acked.size === acks) child.kill('SIGKILL')
  }
  expect(await exited, `driver died on its own: ${stderr}`).toBe('SIGKILL')
  return acked
}

async function checkSurvivors(store: Store, acked: Set<number>): Promise<void> {
  for (const i of acked) {
    const value = await store.get(`k/${i}`)
    expect(value, `acknowledged k/${i} is missing`).toBeDefined()
    expect(Buffer.compare(Buffer.from(value!), Buffer.from(valueOf(i))), `k/${i} is torn`).toBe(0)
  }
  // Writes in flight at the kill may or may not have landed, but never half.
  for (const key of await collect(store.list('k/'))) {
    const i = Number(key.slice(2))
    expect(Buffer.compare(Buffer.from((await store.get(key))!), Buffer.from(valueOf(i))), `${key} is torn`).toBe(0)
  }
}

describe('crash safety (kill -9)', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>
  beforeAll(async () => {
    tmp = await tempDir('store-crash')
    await buildBackends(join(tmp.dir, 'build'))
  })
  afterAll(() => tmp.remove())

  it('keeps every acknowledged LMDB write', async () => {
    const path = join(tmp.dir, 'lmdb')
    const acked = await writeThenKill(join(tmp.dir, 'build'), 'lmdb', path, 300)
    const store = await openLmdbStore({ path })
    await checkSurvivors(store, acked)
    await store.close()
  })

  it('keeps every acknowledged fs write', async () => {
    const root = join(tmp.dir, 'fs')
    const acked = await writeThenKill(join(tmp.dir, 'build'), 'fs', root, 300)
    const store = await openFsStore({ root })
    await checkSurvivors(store, acked)
    await store.close()
  })
})
