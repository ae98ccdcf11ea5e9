/**
 * store@1.0 over a real TCP port (node/server.ts), on an LMDB store: a streamed upload and
 * download of a blob bigger than every in-memory buffer; a damaged piece deep inside a big
 * blob, which the node finds mid-response and answers by aborting the connection (the client's
 * read fails: it never receives a complete, wrong body), then keeps serving; and an upload the
 * client abandons halfway, which leaves nothing behind.
 */
import { createHash } from 'node:crypto'
import { get } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobKey } from '../../core/store.js'
import { PIECE_BYTES, UPLOAD_BUFFER_BYTES, UPLOAD_PREFIX } from '../../devices/store/constants.js'
import type { HashbeamNode } from '../../node/index.js'
import { listen, type RunningServer } from '../../node/server.js'
import { testNode } from '../helpers/node.js'

let node: HashbeamNode
let server: RunningServer
beforeAll(async () => {
  node = await testNode({ config: { store: 'lmdb' } })
  server = await listen(node, 0, '127.0.0.1')
})
afterAll(() => server.close())

/** A body of `size` bytes produced in 256 KiB parts (byte i of part p is (p + i) & 255). */
function producer(size: number, onPart?: (index: number, controller: ReadableStreamDefaultController<Uint8Array>) => boolean) {
  const part = 256 * 1024
  let sent = 0
  let index = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (onPart !== undefined && !onPart(index, controller)) return
      if (sent >= size) return controller.close()
      const n = Math.min(part, size - sent)
      controller.enqueue(new Uint8Array(n).map((_, i) => (index + i) & 255))
      sent += n
      index++
    },
  })
}

async function sha256Of(stream: ReadableStream<Uint8Array>): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk)
    bytes += chunk.length
  }
  return { sha256: hash.digest('hex'), bytes }
}

/** A GET with node:http, to see exactly what arrives before the connection ends. */
function rawGet(url: string): Promise<{ status: number; body: Buffer; ended: boolean }> {
  return new Promise((done, fail) => {
    get(url, (res) => {
      const parts: Buffer[] = []
      let ended = false
      res.on('data', (part: Buffer) => parts.push(part))
      res.on('end', () => { ended = true })
      res.on('close', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(parts), ended: ended && res.complete }))
      res.on('error', () => undefined) // "aborted": reported through `ended`
    }).on('error', fail)
  })
}

const size = UPLOAD_BUFFER_BYTES + 5 * PIECE_BYTES + 17
let sha256 = ''

describe('store@1.0 over TCP', () => {
  it('streams a blob bigger than the upload buffer in and out, whole and by range', async () => {
    const up = await fetch(`${server.url}/~store@1.0/put`, { method: 'PUT', body: producer(size), duplex: 'half' } as RequestInit)
    expect(up.status).toBe(200)
    const expected = await sha256Of(producer(size))
    const put = (await up.json()) as { sha256: string; bytes: number }
    expect(put).toMatchObject({ sha256: expected.sha256, bytes: size })
    sha256 = put.sha256
    const down = await fetch(`${server.url}/~store@1.0/blob/${sha256}`)
    expect(await sha256Of(down.body!)).toEqual(expected)
    const range = await fetch(`${server.url}/~store@1.0/blob/${sha256}`, { headers: { range: `bytes=${PIECE_BYTES - 1}-${PIECE_BYTES}` } })
    expect([range.status, range.headers.get('content-range')]).toEqual([206, `bytes ${PIECE_BYTES - 1}-${PIECE_BYTES}/${size}`])
    expect([...new Uint8Array(await range.arrayBuffer())]).toHaveLength(2)
  })

  it('aborts the response when a later piece fails its check, and keeps serving', async () => {
    const original = new Uint8Array(await node.store.get(blobKey(sha256)) ?? [])
    const damaged = new Uint8Array(original)
    damaged[size - 3]! ^= 0xff
    await node.store.put(blobKey(sha256), damaged)
    const res = await fetch(`${server.url}/~store@1.0/blob/${sha256}`)
    expect(res.status).toBe(200) // the first piece was good: the status line was already sent
    await expect(res.arrayBuffer()).rejects.toThrow()
    // On the wire: fewer bytes than content-length, every one of them right, then a reset.
    const raw = await rawGet(`${server.url}/~store@1.0/blob/${sha256}`)
    expect(raw.status).toBe(200)
    expect(raw.ended).toBe(false)
    expect(raw.body.length).toBeLessThan(size)
    expect(raw.body.equals(Buffer.from(original.subarray(0, raw.body.length)))).toBe(true)
    const small = await fetch(`${server.url}/~store@1.0/blob/${sha256}`, { headers: { range: 'bytes=0-9' } })
    expect(small.status).toBe(206) // the first piece is intact
    const tail = await fetch(`${server.url}/~store@1.0/blob/${sha256}`, { headers: { range: `bytes=-10` } })
    expect([tail.status, ((await tail.json()) as { code: string }).code]).toEqual([500, 'store-corruption'])
    expect(await (await fetch(`${server.url}/~message@1.0&still=serving/still`)).text()).toBe('serving')
  })

  it('an upload abandoned halfway leaves no blob and no temporary key', async () => {
    const abort = new AbortController()
    const body = producer(64 * 1024 * 1024, (index) => {
      if (index === 48) abort.abort() // 12 MiB in: past the buffer, inside the temporary key
      return index < 48
    })
    await expect(fetch(`${server.url}/~store@1.0/put`, { method: 'PUT', body, duplex: 'half', signal: abort.signal } as RequestInit)).rejects.toThrow()
    // A temporary key only ever holds a complete body, so none can appear for this one.
    const left: string[] = []
    for await (const key of node.store.list(UPLOAD_PREFIX)) left.push(key)
    expect(left).toEqual([])
    const blobs: string[] = []
    for await (const key of node.store.list('blob/')) blobs.push(key)
    expect(blobs).toEqual([blobKey(sha256)])
  })
})
