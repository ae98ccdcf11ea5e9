/**
 * Cluster benchmark (issue 14): requests/s of a cached answer through a router next to the same
 * worker asked directly, in one run (target ≥ 0.5×), and the latency the router adds at p50 and
 * p99. A router (`--router`) and one worker (`--join`) run as real `hashbeam serve` processes;
 * load comes from autocannon in this process. Rates use 16 connections, alternating rounds,
 * medians; latency is measured one request at a time (no queueing), so the difference is the
 * relay's own cost. Each process's CPU time per request is read from /proc, which the machine's
 * noise moves far less than a rate.
 *
 * Two layouts: every process on every CPU (the router's cost comes out of the worker's and the
 * load generator's), and — where `taskset` and two CPUs are at hand — the router on a CPU of its
 * own with the worker and the load generator sharing the other, as a router on its own machine
 * in front of a worker would run.
 */
import { execFileSync } from 'node:child_process'
import { cpus } from 'node:os'
import { existsSync } from 'node:fs'
import { Agent, get } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { freePort } from '../helpers/process.js'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { walletAddress } from '../../identity/keys.js'
import { loadOrCreateWallet } from '../../node/wallet-file.js'
import { processCpuMs } from './proc-cpu.js'
import { hashbeamServe } from './server-process.js'

const PATH = '/~message@1.0&hello=world/hello'
const ROUNDS = 3

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!



/** Pins a process (all its threads) to CPUs; false when taskset is missing or refuses. */
function pin(pid: number, cpuList: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-pc', cpuList, String(pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

interface Round { rate: number; cpuMicros: Record<string, number | undefined> }

/** One load round; CPU µs per request of each named process over it. */
async function round(url: string, seconds: number, pids: Record<string, number | undefined>): Promise<Round> {
  const cpuSeconds = (pid: number | undefined) => (pid === undefined || !existsSync(`/proc/${pid}/stat`) ? undefined : processCpuMs(pid) / 1000)
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]))
  const result = await load(url, seconds, 16)
  const cpuMicros: Record<string, number | undefined> = {}
  for (const [k, pid] of Object.entries(pids)) {
    const a = before[k]
    const b = cpuSeconds(pid)
    cpuMicros[k] = a === undefined || b === undefined ? undefined : ((b - a) * 1e6) / result.requests.total
  }
  return { rate: result.requests.average, cpuMicros }
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

interface Comparison { direct: Round[]; relayed: Round[] }

async function compare(direct: string, relayed: string, seconds: number, pids: Record<string, number | undefined>): Promise<Comparison> {
  const out: Comparison = { direct: [], relayed: [] }
  for (let i = 0; i < ROUNDS; i++) {
    out.direct.push(await round(direct, seconds, pids))
    out.relayed.push(await round(relayed, seconds, pids))
  }
  return out
}

function row(layout: string, c: Comparison): string {
  const d = median(c.direct.map((r) => r.rate))
  const r = median(c.relayed.map((x) => x.rate))
  const cpu = (rounds: Round[], who: string) => {
    const xs = rounds.map((x) => x.cpuMicros[who]).filter((x): x is number => x !== undefined)
    return xs.length === 0 ? '?' : median(xs).toFixed(0)
  }
  const per = c.relayed.map((x, i) => (x.rate / c.direct[i]!.rate).toFixed(2)).join(', ')
  return `| ${layout} | ${d.toFixed(0)} req/s | ${r.toFixed(0)} req/s | **${(r / d).toFixed(2)}** (rounds: ${per}) | ${cpu(c.relayed, 'router')} / ${cpu(c.direct, 'worker')} → ${cpu(c.relayed, 'worker')} / ${cpu(c.direct, 'client')} → ${cpu(c.relayed, 'client')} |`
}

/** Runs the benchmark; returns a markdown table. */
export async function benchCluster(seconds = 4): Promise<string> {
  const data = mkdtempSync(join(tmpdir(), 'hashbeam-bench-cluster-'))
  try {
    const workerWallet = join(data, 'worker', 'wallet.json')
    const address = walletAddress(await loadOrCreateWallet(workerWallet, 'ed25519'))
    const router = await hashbeamServe(['--port', '0', '--data', join(data, 'router'), '--store', 'memory', '--router', '--admit', address, '--wallet-kind', 'ed25519', '--no-demo-model'])
    const port = await freePort()
    const worker = await hashbeamServe(['--port', String(port), '--data', join(data, 'worker'), '--wallet', workerWallet, '--join', router.url, '--no-demo-model'])
    try {
      // Registered once the router relays (bounded wait), then warm both paths.
      for (let i = 0; i < 100 && (await fetch(router.url + PATH)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100))
      await load(worker.url + PATH, 1, 16)
      await load(router.url + PATH, 1, 16)
      const pids = { router: router.child.pid, worker: worker.child.pid, client: process.pid }
      const shared = await compare(worker.url + PATH, router.url + PATH, seconds, pids)
      await latency(worker.url + PATH, 200)
      await latency(router.url + PATH, 200)
      const lat = { direct: await latency(worker.url + PATH), relayed: await latency(router.url + PATH) }
      const all = cpus().map((_, i) => i).join(',')
      let pinned: Comparison | undefined
      if (cpus().length >= 2 && router.child.pid !== undefined && worker.child.pid !== undefined && pin(router.child.pid, '1') && pin(worker.child.pid, '0') && pin(process.pid, '0')) {
        try {
          pinned = await compare(worker.url + PATH, router.url + PATH, seconds, pids)
        } finally {
          for (const pid of [router.child.pid, worker.child.pid, process.pid]) pin(pid, all)
        }
      }
      const ms = (x: number) => `${x.toFixed(3)} ms`
      const rows = [
        '| layout | worker asked directly | through the router (By-Base, relayed) | ratio | CPU µs per request: router / worker (direct → relayed) / load generator |',
        '| --- | --- | --- | --- | --- |',
        row('every process on both CPUs', shared),
        ...(pinned === undefined ? [] : [row('router on CPU 1; worker and load generator on CPU 0', pinned)]),
      ]
      return [
        `Cached answer \`${PATH}\`, 16 connections, ${ROUNDS} alternating rounds of ${seconds} s (medians).`,
        '',
        ...rows,
        '',
        `Latency one request at a time: direct p50 ${ms(lat.direct.p50)} / p99 ${ms(lat.direct.p99)}; through the router p50 ${ms(lat.relayed.p50)} / p99 ${ms(lat.relayed.p99)}; the router adds p50 ${ms(lat.relayed.p50 - lat.direct.p50)}, p99 ${ms(lat.relayed.p99 - lat.direct.p99)}.`,
      ].join('\n')
    } finally {
      await worker.stop()
      await router.stop()
    }
  } finally {
    rmSync(data, { recursive: true, force: true })
  }
}
