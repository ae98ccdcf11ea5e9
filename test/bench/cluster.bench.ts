/**
 * Cluster benchmark (issue 14): requests/s of a cached answer through a router next to the same
 * worker asked directly, in one run (target ≥ 0.5×), and the latency the router adds at p50 and
 * p99. A router (`--router`) and one worker (`--join`) run as real `hashbeam serve` processes;
 * load comes from autocannon in this process. Rates use 16 connections, alternating rounds,
 * medians; latency is measured one request at a time (no queueing), so the difference is the
 * relay's own cost.
 */
import { spawn } from 'node:child_process'
import { Agent, get } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { freePort } from '../helpers/process.js'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { walletAddress } from '../../identity/keys.js'
import { loadOrCreateWallet } from '../../node/wallet-file.js'
import { REPO_ROOT } from './paths.js'

const PATH = '/~message@1.0&hello=world/hello'
const ROUNDS = 3

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!


async function serve(args: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/hashbeam.js'), 'serve', ...args], {
    cwd: REPO_ROOT, env: { ...process.env, HASHBEAM_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const url = await new Promise<string>((done, fail) => {
    const onData = (c: Buffer) => {
      out += c.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m?.[1] !== undefined) done(m[1])
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => fail(new Error(`server exited ${code}: ${out}`)))
  })
  return { url, stop: () => new Promise((done) => { child.once('exit', () => done()); child.kill('SIGTERM') }) }
}

async function load(url: string, seconds: number, connections: number): Promise<autocannon.Result> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 })
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`bench: ${result.non2xx} non-2xx, ${result.errors} errors from ${url}`)
  return result
}

/**
 * Latency percentiles (ms) of `n` requests one after another on one kept-alive connection,
 * measured here in microseconds (autocannon rounds latency to whole milliseconds).
 */
async function latency(url: string, n = 2000): Promise<{ p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const times: number[] = []
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now()
      await new Promise<void>((done, fail) => {
        get(url, { agent }, (res) => {
          if (res.statusCode !== 200) fail(new Error(`bench: ${res.statusCode} from ${url}`))
          res.resume()
          res.once('end', () => done())
        }).once('error', fail)
      })
      times.push(performance.now() - t)
    }
  } finally {
    agent.destroy()
  }
  times.sort((a, b) => a - b)
  return { p50: times[Math.floor(n / 2)]!, p99: times[Math.floor(n * 0.99)]! }
}

/** Runs the benchmark; returns a markdown table. */
export async function benchCluster(seconds = 4): Promise<string> {
  const data = mkdtempSync(join(tmpdir(), 'hashbeam-bench-cluster-'))
  try {
    const workerWallet = join(data, 'worker', 'wallet.json')
    const address = walletAddress(await loadOrCreateWallet(workerWallet, 'ed25519'))
    const router = await serve(['--port', '0', '--data', join(data, 'router'), '--store', 'memory', '--router', '--admit', address, '--wallet-kind', 'ed25519', '--no-demo-model'])
    const port = await freePort()
    const worker = await serve(['--port', String(port), '--data', join(data, 'worker'), '--wallet', workerWallet, '--join', router.url, '--no-demo-model'])
    try {
      // Registered once the router relays (bounded wait), then warm both paths.
      for (let i = 0; i < 100 && (await fetch(router.url + PATH)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100))
      await load(worker.url + PATH, 1, 16)
      await load(router.url + PATH, 1, 16)
      const direct: number[] = []
      const relayed: number[] = []
      for (let round = 0; round < ROUNDS; round++) {
        direct.push((await load(worker.url + PATH, seconds, 16)).requests.average)
        relayed.push((await load(router.url + PATH, seconds, 16)).requests.average)
      }
      const d = median(direct)
      const r = median(relayed)
      await latency(worker.url + PATH, 200)
      await latency(router.url + PATH, 200)
      const lat = { direct: await latency(worker.url + PATH), relayed: await latency(router.url + PATH) }
      const each = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ')
      const ms = (x: number) => `${x.toFixed(3)} ms`
      return [
        '| what | rate (16 connections) | ratio | latency p50 / p99 (one request at a time) |',
        '| --- | --- | --- | --- |',
        `| worker asked directly \`${PATH}\` (cache hit) | ${d.toFixed(0)} req/s (rounds: ${each(direct)}) | 1.00 | ${ms(lat.direct.p50)} / ${ms(lat.direct.p99)} |`,
        `| the same through the router (By-Base, relayed) | ${r.toFixed(0)} req/s (rounds: ${each(relayed)}) | ${(r / d).toFixed(2)} (per round: ${relayed.map((x, i) => (x / direct[i]!).toFixed(2)).join(', ')}) | ${ms(lat.relayed.p50)} / ${ms(lat.relayed.p99)} |`,
        `| router's added latency | | | p50 ${ms(lat.relayed.p50 - lat.direct.p50)}, p99 ${ms(lat.relayed.p99 - lat.direct.p99)} |`,
      ].join('\n')
    } finally {
      await worker.stop()
      await router.stop()
    }
  } finally {
    rmSync(data, { recursive: true, force: true })
  }
}
