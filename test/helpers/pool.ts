/**
 * Helpers for the inference-pool tests: a private redis-server on a free loopback port (so a
 * test may kill and restart it), and one client call over every gpu-infer surface — the path
 * form and the OpenAI routes, streamed (SSE) or not — reduced to {status, id, text}.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { redisGate, uniquePrefix } from '../devices/store/redis-env.js'
import { freePort, runCli } from './process.js'
import { signRequest } from '../../devices/httpsig/index.js'
import type { Wallet } from '../../identity/keys.js'
import { Redis } from 'ioredis'

export interface OwnRedis {
  readonly url: string
  readonly port: number
  pid(): number | undefined
  /** kill -9 by PID, then wait for the exit. */
  kill(): Promise<void>
  /** A fresh, empty server on the same port. */
  restart(): Promise<void>
}

/**
 * What every pool test file sets up the same way: the suite's Redis gate, a private pool Redis,
 * the shared ledger on the suite's Redis (database 13, a prefix of this run's own) and its removal.
 */
export interface PoolHarness {
  readonly skip: boolean
  readonly poolRedis: OwnRedis | undefined
  /** `--store` (the shared ledger) and `--pool-lease-ms` for every node of the pool. */
  poolFlags(leaseMs: number): string[]
  /** Removes this run's ledger keys. */
  dropLedger(): Promise<void>
}

export async function poolHarness(name: string): Promise<PoolHarness> {
  const redis = await redisGate()
  const poolRedis = redis.skip ? undefined : await startOwnRedis()
  if (!redis.skip && poolRedis === undefined) console.warn(`[${name}] skipping: no redis-server binary to run a private pool Redis`)
  const storeDb = (process.env.HASHBEAM_REDIS_URL ?? 'redis://127.0.0.1:6379/0').replace(/\/\d*$/, '/13')
  const prefix = uniquePrefix(name.replace(/\W+/g, '-'))
  const skip = redis.skip || poolRedis === undefined
  return {
    skip, poolRedis,
    poolFlags: (leaseMs) => ['--store', `${storeDb}?prefix=${prefix}`, '--pool-lease-ms', String(leaseMs)],
    async dropLedger() {
      if (skip) return
      const client = new Redis(storeDb)
      const keys = await client.keys(`${prefix}*`)
      if (keys.length > 0) await client.unlink(...keys)
      client.disconnect()
    },
  }
}

/** Polls `check` (errors count as false) until it holds; throws after `tries`. */
export async function until(what: string, check: () => Promise<boolean>, tries = 100, everyMs = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check().catch(() => false)) return
    await new Promise((r) => setTimeout(r, everyMs))
  }
  throw new Error(`timed out waiting for ${what}`)
}

export const getJson = async (url: string): Promise<Record<string, unknown>> =>
  (await fetch(url, { headers: { accept: 'application/json' } })).json() as Promise<Record<string, unknown>>

/** A fresh ed25519 wallet.json in each directory, made by the CLI; their addresses. */
export async function keygenIn(dirs: readonly string[]): Promise<string[]> {
  const addresses: string[] = []
  for (const dir of dirs) addresses.push((await runCli(['keygen', '--out', join(dir, 'wallet.json'), '--kind', 'ed25519'])).stdout.trim())
  return addresses
}

/** Starts `redis-server` without persistence on a free port; undefined when none is installed. */
export async function startOwnRedis(): Promise<OwnRedis | undefined> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const launch = async (): Promise<boolean> => {
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    const failed = await new Promise<boolean>((done) => { started.once('error', () => done(true)); setTimeout(() => done(false), 50) })
    if (failed) return false
    child = started
    for (let i = 0; i < 100; i++) {
      const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      probe.on('error', () => {})
      try {
        await probe.connect()
        await probe.ping()
        return true
      } catch { await new Promise((r) => setTimeout(r, 50)) } finally { probe.disconnect() }
    }
    return false
  }
  if (!(await launch())) return undefined
  const kill = async () => {
    const c = child
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
    const exited = new Promise((done) => c.once('exit', done))
    c.kill('SIGKILL')
    await exited
  }
  return {
    url: `redis://127.0.0.1:${port}/0`, port, pid: () => child?.pid, kill,
    async restart() {
      await kill()
      if (!(await launch())) throw new Error('redis-server did not restart')
    },
  }
}

export interface Ask {
  readonly surface: 'path' | 'completion' | 'chat'
  readonly prompt: string
  readonly stream: boolean
  readonly maxTokens: number
  readonly temperature?: number
}

export interface Answer {
  readonly status: number
  readonly id: string | null
  readonly text: string
  readonly error?: unknown
  readonly headers: Headers
  /** Text pieces in arrival order (streams). */
  readonly pieces: readonly string[]
}

/** Reads an SSE body; calls `onEvent(event, data)` per event. */
async function readSse(res: Response, onEvent: (event: string, data: string) => void): Promise<void> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    let cut: number
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      let event = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
      }
      if (data.length > 0) onEvent(event, data.join('\n'))
    }
  }
}

/**
 * One request over the chosen surface; `onPiece` sees streamed text as it arrives. With `signer`
 * (the path form only) the request is signed (RFC 9421 over @method and @path), so the node
 * knows its caller — the pool's fairness lanes go by it.
 */
export async function ask(baseUrl: string, a: Ask, opts: { signal?: AbortSignal; onPiece?: (text: string) => void; signer?: Wallet } = {}): Promise<Answer> {
  const pieces: string[] = []
  const piece = (t: string) => { if (t !== '') { pieces.push(t); opts.onPiece?.(t) } }
  let res: Response
  if (a.surface === 'path') {
    const q = `model=tiny&prompt=${encodeURIComponent(a.prompt)}&max-tokens+integer=${a.maxTokens}${a.temperature === undefined ? '' : `&temperature+float=${a.temperature}`}${a.stream ? '&stream=true' : ''}`
    const url = `${baseUrl}/~gpu-infer@1.0/run&${q}`
    // `accept` stays out of the signature: a signed header would become a key of the request.
    const signed = opts.signer === undefined ? {} : signRequest(opts.signer, { method: 'GET', url, headers: {} }, { components: ['@method', '@path'] }).headers
    res = await fetch(url, { headers: { ...signed, accept: 'application/json' }, ...(opts.signal ? { signal: opts.signal } : {}) })
  } else {
    if (opts.signer !== undefined) throw new Error('ask: only the path form is signed here')
    const body = {
      model: 'tiny', max_tokens: a.maxTokens, stream: a.stream, ...(a.temperature === undefined ? {} : { temperature: a.temperature }),
      ...(a.surface === 'chat' ? { messages: [{ role: 'user', content: a.prompt }] } : { prompt: a.prompt }),
    }
    res = await fetch(`${baseUrl}/~gpu-infer@1.0/v1/${a.surface === 'chat' ? 'chat/completions' : 'completions'}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...(opts.signal ? { signal: opts.signal } : {}),
    })
  }
  if (res.status !== 200) return { status: res.status, id: null, text: '', error: await res.json().catch(() => null), headers: res.headers, pieces }
  if (!a.stream) {
    const json = await res.json() as Record<string, unknown>
    const choice = (json.choices as Array<Record<string, unknown>> | undefined)?.[0]
    const text = a.surface === 'path' ? String(json.output) : a.surface === 'chat' ? String((choice?.message as { content: string }).content) : String(choice?.text)
    return { status: 200, id: res.headers.get('ao-id'), text, headers: res.headers, pieces }
  }
  let id: string | null = null
  let error: unknown
  await readSse(res, (event, data) => {
    if (data === '[DONE]') return
    const json = JSON.parse(data) as Record<string, unknown>
    if (a.surface === 'path') {
      if (event === 'token') piece(String((json as { text: string }).text))
      else if (event === 'result') {
        id = String(json.id)
        // A ledger answer streams no tokens: the result carries the whole output.
        if (pieces.length === 0) piece(String((json.value as { output?: string } | undefined)?.output ?? ''))
      }
      else if (event === 'error') error = json
      return
    }
    if (json.error !== undefined) { error = json.error; return }
    const choice = (json.choices as Array<Record<string, unknown>>)[0]
    if (choice !== undefined) piece(String(a.surface === 'chat' ? (choice.delta as { content?: string }).content ?? '' : choice.text ?? ''))
    if (json.hashbeam !== undefined) id = String((json.hashbeam as { id: string }).id)
  })
  return { status: 200, id, text: pieces.join(''), error, headers: res.headers, pieces }
}
