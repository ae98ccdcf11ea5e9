// The runnable example of docs/identity-and-signatures.md, run as a user would: against
// `hashbeam serve` on a real port, with the real aoconnect client.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { sharedWalletPath, tempDir } from '../helpers/node.js'
import { REPO_ROOT, startServer, type ServerProcess } from '../helpers/process.js'

const data = tempDir()
let server: ServerProcess
beforeAll(async () => {
  server = await startServer(['--data', data.dir, '--wallet', sharedWalletPath(), '--store', 'memory'])
})
afterAll(async () => {
  await server?.stop()
  data.cleanup()
})

it('examples/aoconnect-client.mjs runs to the end against a live node', async () => {
  const output = await new Promise<{ code: number | null; out: string }>((done) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'examples/aoconnect-client.mjs')], { env: { ...process.env, HASHBEAM_URL: server.url } })
    let out = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { out += c.toString() })
    child.on('exit', (code) => done({ code, out }))
  })
  expect(output.code, output.out).toBe(0)
  const address = /^address: (\S{43})$/m.exec(output.out)?.[1]
  expect(output.out).toContain(`operator: ${address}`)
  expect(output.out).toMatch(/^verify: \{"valid":true,/m)
  expect(output.out).toContain('ans104: hi from a data item')
  expect(output.out).toContain(`reply signed by ${address} for hashpath `)
})
