// `hashbeam new device NAME [--ts]` as a newcomer would use it, in a temporary folder outside the
// repository: the generated tests pass as generated (JS, and TS after tsc), the node loads both
// devices with --device (their `hashbeam/core` imports resolved by the node's loader), and after
// an edit the same data dir gives the fresh answer, not the old one from the ledger.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { requireBuild, runCli, startServer, type ServerProcess } from '../helpers/process.js'

const work = mkdtempSync(join(tmpdir(), 'hashbeam-new-device-'))
const js = join(work, 'greet')
const ts = join(work, 'greet-ts')
const servers: ServerProcess[] = []
afterAll(async () => {
  for (const s of servers) await s.stop()
  rmSync(work, { recursive: true, force: true })
})

/** Runs node with `args` in `cwd`, outside this vitest's environment; resolves with the output. */
function run(cwd: string, args: string[]): Promise<{ code: number; out: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'))
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { out += c.toString() })
    child.on('exit', (code) => done({ code: code ?? -1, out }))
  })
}
const vitest = (cwd: string) => run(cwd, ['node_modules/vitest/vitest.mjs', 'run'])
const tsc = (cwd: string) => run(cwd, ['node_modules/typescript/bin/tsc', '-p', '.'])

async function ask(server: ServerProcess, device: string): Promise<string> {
  const res = await fetch(`${server.url}/~${device}@1.0/hello&name=ada`)
  expect(res.status).toBe(200)
  return res.text()
}

describe('hashbeam new device', () => {
  it('scaffolds JS and TS devices whose generated tests pass as generated', async () => {
    requireBuild()
    expect((await runCli(['new', 'device', 'greet', '--dir', js])).code).toBe(0)
    expect((await runCli(['new', 'device', 'greet-ts', '--ts', '--dir', ts])).code).toBe(0)
    expect(JSON.parse(readFileSync(join(js, 'package.json'), 'utf8'))).toMatchObject({ type: 'module' })
    expect((await runCli(['new', 'device', 'greet', '--dir', js])).code).toBe(2) // never over an existing folder
    const [jsTests, tsBuild] = await Promise.all([vitest(js), tsc(ts)])
    expect(jsTests, jsTests.out).toMatchObject({ code: 0 })
    expect(tsBuild, tsBuild.out).toMatchObject({ code: 0 })
    const tsTests = await vitest(ts)
    expect(tsTests, tsTests.out).toMatchObject({ code: 0 })
    expect(tsTests.out).toMatch(/5 passed/)
  })

  it('loads them with --device; an edited device answers afresh from the same data dir', async () => {
    const data = join(work, 'data')
    const args = ['--data', data, '--wallet-kind', 'ed25519', '--device', join(js, 'greet-device.js'), '--device', join(ts, 'dist/greet-ts-device.js')]
    let server = await startServer(args)
    servers.push(server)
    expect([await ask(server, 'greet'), await ask(server, 'greet-ts')]).toEqual(['hello, ada', 'hello, ada'])
    await server.stop()

    for (const file of [join(js, 'greet-device.js'), join(ts, 'src/greet-ts-device.ts')]) {
      writeFileSync(file, readFileSync(file, 'utf8').replace("init.greeting ?? 'hello'", "init.greeting ?? 'hi'"))
    }
    expect((await tsc(ts)).code).toBe(0)
    server = await startServer(args)
    servers.push(server)
    expect([await ask(server, 'greet'), await ask(server, 'greet-ts')]).toEqual(['hi, ada', 'hi, ada'])
  })
})
