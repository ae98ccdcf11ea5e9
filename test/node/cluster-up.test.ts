/**
 * `hashbeam cluster up`: a router and two workers as child processes on loopback; a request
 * through the router is answered by a worker; `/~router@1.0/nodes` lists both; SIGINT stops the
 * workers and then the router, and every process is gone.
 */
import { execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { afterAll, expect, it } from 'vitest'
import { tempDir } from '../helpers/node.js'
import { BIN, REPO_ROOT, requireBuild } from '../helpers/process.js'

const data = tempDir()
const pids: number[] = []
afterAll(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  data.cleanup()
})

const free = (port: number): Promise<boolean> => new Promise((done) => {
  const s = createServer().once('error', () => done(false)).listen(port, '127.0.0.1', () => s.close(() => done(true)))
})

/** A base port with the next two free as well (bounded tries). */
async function basePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000)
    if ((await free(base)) && (await free(base + 1)) && (await free(base + 2))) return base
  }
  throw new Error('no three free ports in a row')
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

it('starts a router and two workers, relays through them, and stops them all on SIGINT', async () => {
  requireBuild()
  const port = await basePort()
  const child = spawn(process.execPath, [BIN, 'cluster', 'up', '--workers', '2', '--port', String(port), '--data', data.dir, '--', '--no-demo-model'], {
    cwd: REPO_ROOT, env: { ...process.env, HASHBEAM_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  pids.push(child.pid!)
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { out += c.toString() })
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  for (let i = 0; i < 600 && !out.includes('cluster up:'); i++) await new Promise((r) => setTimeout(r, 100))
  expect(out).toContain(`cluster up: router http://127.0.0.1:${port} with 2 workers`)
  const router = `http://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    const nodes = (await (await fetch(`${router}/~router@1.0/nodes`)).json()) as { nodes: Array<{ url: string }> }
    if (nodes.nodes.length === 2) break
    await new Promise((r) => setTimeout(r, 100))
  }
  const res = await fetch(`${router}/~message@1.0&up=yes/up`)
  expect([res.status, await res.text()]).toEqual([200, 'yes'])
  expect([`http://127.0.0.1:${port + 1}`, `http://127.0.0.1:${port + 2}`]).toContain(res.headers.get('hashbeam-node-url'))
  // The children's PIDs, from the OS: every `serve` whose data dir is under ours.
  const children = execFileSync('ps', ['-eo', 'pid=,args=']).toString().split('\n')
    .filter((l) => l.includes(data.dir) && l.includes(' serve ')).map((l) => Number(l.trim().split(/\s+/)[0]))
  expect(children.length).toBe(3)
  pids.push(...children)
  child.kill('SIGINT')
  expect(await exited).toBe(0)
  for (const pid of children) expect(alive(pid)).toBe(false)
}, 90_000)
