/**
 * @module
 * `hashbeam cluster up`: a router and N workers on loopback ports as child processes — the
 * quickest way to see a cluster on one machine (docs/cluster.md).
 *
 *     hashbeam cluster up [--workers 3] [--port 8734] [--data DIR] [--redis redis://…] [--node-ttl S] [-- serve flags for workers]
 *
 * Each worker gets a data dir and an Ed25519 wallet of its own under DIR (made once, kept), the
 * router admits exactly those addresses, and with `--redis` all workers share that ledger and
 * trust each other. Output of every process is prefixed with its name. SIGINT/SIGTERM stops the
 * workers (each deregisters), then the router; the router exiting stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join, resolve } from 'node:path'
import { parseArgs } from './cli-args.js'
import { walletAddress } from '../identity/keys.js'
import { UsageError } from './cli-options.js'
import { parsePort, parsePositive } from './config.js'
import { packageRoot } from './package-root.js'
import { loadOrCreateWallet } from './wallet-file.js'

const OPTIONS = {
  workers: { type: 'string', default: '3' },
  port: { type: 'string', default: '8734' },
  data: { type: 'string', default: '.hashbeam-cluster' },
  redis: { type: 'string' },
  'node-ttl': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

const USAGE = `usage: hashbeam cluster up [--workers 3] [--port 8734] [--data DIR] [--redis redis://…] [--node-ttl S] [-- serve flags for workers]
  a router on PORT and N workers on PORT+1…PORT+N, all on 127.0.0.1, as child processes;
  DIR/router and DIR/worker-N hold their data and wallets (default ./.hashbeam-cluster)
`

interface Child {
  readonly name: string
  readonly process: ChildProcess
  readonly exited: Promise<number | string>
}

/** Children still running, stopped if `cluster up` itself exits (they have their own process group). */
const running = new Set<ChildProcess>()
process.once('exit', () => { for (const child of running) child.kill('SIGTERM') })

function start(name: string, args: string[]): Child {
  // A process group of its own: a terminal's Ctrl-C reaches only `cluster up`, which then stops
  // the workers before the router (so they deregister), instead of all of them at once.
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'hashbeam.js'), 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  running.add(child)
  child.once('exit', () => running.delete(child))
  const prefix = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line !== '') stream.write(`[${name}] ${line}\n`)
  }
  child.stdout?.on('data', prefix(process.stdout))
  child.stderr?.on('data', prefix(process.stderr))
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? -1)))
  return { name, process: child, exited }
}

/** Resolves once the child prints its URL; rejects if it exits first. */
function listening(child: Child): Promise<string> {
  return new Promise((done, fail) => {
    let text = ''
    const timer = setTimeout(() => fail(new Error(`${child.name} did not start in 60 s`)), 60_000)
    child.process.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      const m = /listening on (http:\/\/\S+)/.exec(text)
      if (m?.[1] !== undefined) {
        clearTimeout(timer)
        done(m[1])
      }
    })
    void child.exited.then((code) => { clearTimeout(timer); fail(new Error(`${child.name} exited (${code}) before listening`)) })
  })
}

export async function clusterCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  const dash = rest.indexOf('--')
  const own = dash === -1 ? rest : rest.slice(0, dash)
  const passed = dash === -1 ? [] : rest.slice(dash + 1)
  const { values } = parseArgs({ args: own, options: OPTIONS })
  if (values.help === true || sub === '--help' || sub === '-h') {
    process.stdout.write(USAGE)
    return 0
  }
  if (sub !== 'up') throw new UsageError('cluster takes a subcommand: up')
  const workers = parsePositive('--workers', values.workers)
  if (workers > 32) throw new UsageError('--workers is at most 32')
  const port = parsePort(values.port)
  if (port === 0 || port + workers > 65535) throw new UsageError('--port needs room for the router and its workers')
  const dir = resolve(values.data)
  const ttl = values['node-ttl'] === undefined ? [] : ['--node-ttl', values['node-ttl']]
  const wallets = await Promise.all(Array.from({ length: workers }, (_, i) => loadOrCreateWallet(join(dir, `worker-${i + 1}`, 'wallet.json'), 'ed25519')))
  const addresses = wallets.map(walletAddress)
  const store = values.redis === undefined ? [] : ['--store', values.redis]

  const children: Child[] = []
  let stopping = false
  const stopAll = async (): Promise<void> => {
    stopping = true
    // Workers first: each deregisters from the router that is still up.
    for (const group of [children.filter((c) => c.name !== 'router'), children.filter((c) => c.name === 'router')]) {
      for (const c of group) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGTERM')
      await Promise.all(group.map((c) => c.exited))
    }
  }
  // Signals are handled from the first child on: a Ctrl-C during start-up leaves no orphan.
  const signalled = new Promise<number>((done) => {
    const onSignal = () => void stopAll().then(() => done(0))
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  })
  const router = start('router', ['--port', String(port), '--data', join(dir, 'router'), '--router', '--wallet-kind', 'ed25519', '--no-demo-model',
    ...addresses.flatMap((a) => ['--admit', a]), ...ttl])
  children.push(router)
  let routerUrl: string
  try {
    routerUrl = await Promise.race([listening(router), signalled.then(() => { throw new Error('stopped during start-up') })])
    for (let i = 0; i < workers; i++) {
      const trust = values.redis === undefined ? [] : addresses.filter((_, j) => j !== i).flatMap((a) => ['--trust', a])
      children.push(start(`worker-${i + 1}`, ['--port', String(port + i + 1), '--data', join(dir, `worker-${i + 1}`), '--join', routerUrl, ...store, ...trust, ...passed]))
    }
    await Promise.race([Promise.all(children.slice(1).map(listening)), signalled.then(() => { throw new Error('stopped during start-up') })])
  } catch (err) {
    if (!stopping) await stopAll()
    process.stderr.write(`cluster: ${(err as Error).message}\n`)
    return 1
  }
  process.stdout.write([
    `cluster up: router ${routerUrl} with ${workers} worker${workers === 1 ? '' : 's'} (${values.redis === undefined ? 'each its own store' : `one ledger on ${values.redis.replace(/\/\/[^@/]*@/, '//…@')}`})`,
    ...children.slice(1).map((c, i) => `  ${c.name} http://127.0.0.1:${port + i + 1}  ${addresses[i]}`),
    `  try: curl '${routerUrl}/~message@1.0&hello=world/hello'   and   curl ${routerUrl}/~router@1.0/nodes`,
    '',
  ].join('\n'))
  const routerGone = router.exited.then(async (code) => {
    if (stopping) return 0
    process.stderr.write(`cluster: the router exited (${code}); stopping the workers\n`)
    await stopAll()
    return 1
  })
  return Promise.race([signalled, routerGone])
}
