/**
 * Crash safety over HTTP (DESIGN §10): the real `hashbeam serve` in a child process, on LMDB,
 * fs and Redis. Many concurrent clients write — message@1.0 set chains, small blob puts, big
 * streamed blob puts (declared and undeclared), JSON message puts — and the node is SIGKILLed
 * while requests are in flight. Restarted on the same data, it must hold every write whose
 * 200 arrived; no blob or message may be half-written (every blob hashes to its name and has
 * its metadata record, every message hashes to its ID); and `verify` must pass on every
 * hashpath a 200 carried (over HTTP, and once with `hashbeam verify`).
 *
 * Needs `npm run build`. Redis cases skip with a printed reason when Redis is unreachable,
 * unless HASHBEAM_REQUIRE_REDIS=1; they use a unique key prefix, removed afterwards.
 */
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { sharedWalletPath, tempDir } from '../helpers/node.js'
import { runCli, startServer } from '../helpers/process.js'
import { deletePrefix, redisGate, REDIS_URL, uniquePrefix } from '../devices/store/redis-env.js'

const WRITERS = 12
const ACKS_BEFORE_KILL = 150
const NO_STORE = { 'cache-control': 'no-store', accept: 'application/json' }
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

interface Acked {
  hashpaths: string[]
  blobs: string[]
  messages: string[]
  /** Requests that were cut off by the kill (they prove the kill came mid-stream). */
  cut: number
}

function record(acked: Acked, res: Response, list: 'blobs' | 'messages', name: string): void {
  acked[list].push(name)
  acked.hashpaths.push(res.headers.get('hashpath')!)
}

/** One client: a mix of writes, each recorded only when its whole 200 arrived. */
async function writer(url: string, w: number, acked: Acked, killed: () => boolean): Promise<void> {
  for (let i = 0; !killed(); i++) {
    try {
      const kind = (w + i) % 3
      if (kind === 0) {
        const res = await fetch(`${url}/~message@1.0&w=${w}-${i}/set&v=${i}/v`)
        if (res.status === 200 && (await res.text()) === String(i)) acked.hashpaths.push(res.headers.get('hashpath')!)
      } else if (kind === 1) {
        const body = randomBytes(1 + ((w * 7919 + i * 104_729) % 200_000))
        const res = await fetch(`${url}/~store@1.0/put`, { method: 'PUT', body })
        const put = (await res.json()) as { sha256: string }
        if (res.status === 200 && put.sha256 === sha(body)) record(acked, res, 'blobs', put.sha256)
      } else {
        const res = await fetch(`${url}/~store@1.0/put`, {
          method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ message: { writer: w, i, pad: 'x'.repeat(i % 500) } }),
        })
        const put = (await res.json()) as { id: string }
        if (res.status === 200) record(acked, res, 'messages', put.id)
      }
    } catch {
      acked.cut++
      return
    }
  }
}

/** Big streamed uploads, alternately with and without a declared sha256. */
async function bigWriter(url: string, acked: Acked, killed: () => boolean): Promise<void> {
  for (let i = 0; !killed(); i++) {
    const body = randomBytes(9 * 1024 * 1024 + i)
    try {
      const res = await fetch(`${url}/~store@1.0/put${i % 2 === 0 ? '' : `&sha256=${sha(body)}`}`, { method: 'PUT', body })
      const put = (await res.json()) as { sha256: string }
      if (res.status === 200 && put.sha256 === sha(body)) record(acked, res, 'blobs', put.sha256)
    } catch {
      acked.cut++
      return
    }
  }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: NO_STORE })
  expect(res.status, `${url}: ${res.status}`).toBe(200)
  return (await res.json()) as T
}

/** Every name under a kind, paging through list. */
async function listAll(url: string, kind: 'blob' | 'message'): Promise<string[]> {
  const all: string[] = []
  let after = ''
  for (;;) {
    const page = await getJson<{ items: string[]; next?: string }>(`${url}/~store@1.0/list&kind=${kind}&limit=1000${after === '' ? '' : `&after=${after}`}`)
    all.push(...page.items)
    if (page.next === undefined) return all
    after = page.next
  }
}

/** Runs `check` over items, 16 at a time. */
async function eachLimited<T>(items: readonly T[], check: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < items.length) await check(items[next++]!)
  }))
}

async function crashAndCheck(store: string): Promise<void> {
  const data = tempDir('hashbeam-crash-')
  const args = ['--data', data.dir, '--store', store, '--wallet', sharedWalletPath(), '--no-demo-model']
  try {
    const first = await startServer(args)
    const acked: Acked = { hashpaths: [], blobs: [], messages: [], cut: 0 }
    let killed = false
    const done = [bigWriter(first.url, acked, () => killed), ...Array.from({ length: WRITERS }, (_, w) => writer(first.url, w, acked, () => killed))]
    const watcher = (async () => {
      while (acked.hashpaths.length < ACKS_BEFORE_KILL) await new Promise((r) => setTimeout(r, 5))
      killed = true
      first.child.kill('SIGKILL')
    })()
    await Promise.all([watcher, ...done])
    expect(await first.stop()).toBe('SIGKILL')
    expect(acked.cut, 'no request was in flight at the kill').toBeGreaterThan(0)

    const second = await startServer(args)
    try {
      // Every acknowledged write is there, whole.
      await eachLimited(acked.blobs, async (sha256) => {
        const res = await fetch(`${second.url}/~store@1.0/blob/${sha256}`)
        expect(res.status, `blob ${sha256}`).toBe(200)
        expect(sha(new Uint8Array(await res.arrayBuffer()))).toBe(sha256)
      })
      await eachLimited(acked.messages, async (id) => { await getJson(`${second.url}/~store@1.0/stat&id=${id}&kind=message`) })
      await eachLimited(acked.hashpaths, async (hashpath) => {
        const report = await getJson<{ valid: boolean }>(`${second.url}/~replay@1.0/verify&hashpath=${encodeURIComponent(hashpath)}`)
        expect(report, hashpath).toMatchObject({ valid: true })
      })
      // Nothing is half-written, acknowledged or not: blobs hash to their names and have
      // their records; messages hash to their IDs (stat re-hashes them).
      const blobs = await listAll(second.url, 'blob')
      expect(blobs).toEqual(expect.arrayContaining(acked.blobs))
      await eachLimited(blobs, async (sha256) => {
        expect(await getJson(`${second.url}/~store@1.0/stat&sha256=${sha256}&kind=blob`), sha256).toMatchObject({ indexed: true })
        const res = await fetch(`${second.url}/~store@1.0/blob/${sha256}`)
        expect(sha(new Uint8Array(await res.arrayBuffer())), sha256).toBe(sha256)
      })
      const messages = await listAll(second.url, 'message')
      expect(messages).toEqual(expect.arrayContaining(acked.messages))
      await eachLimited(messages, async (id) => { await getJson(`${second.url}/~store@1.0/stat&id=${id}&kind=message`) })
    } finally {
      await second.stop()
    }
    // `--`: a hashpath may start with '-'.
    const cli = await runCli(['verify', '--data', data.dir, '--store', store, '--', acked.hashpaths[0]!])
    expect(cli.code, cli.stderr).toBe(0)
    expect(JSON.parse(cli.stdout)).toMatchObject({ valid: true })
  } finally {
    data.cleanup()
  }
}

const redis = await redisGate()
const redisPrefix = uniquePrefix('crash-http')
afterAll(async () => {
  if (!redis.skip) await deletePrefix(redisPrefix)
})

describe('SIGKILL mid-stream over HTTP keeps every acknowledged write', () => {
  it('on LMDB', { timeout: 60_000 }, () => crashAndCheck('lmdb'))
  it('on fs', { timeout: 60_000 }, () => crashAndCheck('fs'))
  it.skipIf(redis.skip)('on Redis', { timeout: 60_000 }, () => crashAndCheck(`${REDIS_URL}?prefix=${redisPrefix}`))
})
