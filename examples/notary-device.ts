// notary@1.0 — the second worked example of docs/writing-a-device.md, in TypeScript: a device
// that uses everything a built-in may use.
//
//   npm run build && hashbeam serve --device ./dist/examples/notary-device.js
//   curl 'localhost:8734/~notary@1.0/notarize&target=%2F~message@1.0%26greeting=hello%2Fgreeting'
//   curl 'localhost:8734/notary/status'
//
// - it resolves a sub-path through another device (`ctx.resolve(target)`: any path, e.g.
//   `/~gpu-infer@1.0/run&prompt=…`), and post-processes the answer;
// - it signs what it got with the node's signer (domain-separated; the key never reaches it);
// - it mounts one HTTP route (`GET /notary/verify`, `GET /notary/status`… one router);
// - it starts and stops a resource of its own (a heartbeat timer).
import type { Hono } from 'hono'
import type { DeviceBuilder, DeviceComponents, HttpKit, Message } from 'hashbeam/core'

export interface NotaryInit {
  /** How often the heartbeat ticks while the device runs (ms). */
  readonly heartbeatMs?: number
}

const SIGNATURE_TAG = 'notary@1.0/notarized'
const UTF8 = new TextEncoder()
const toB64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url')
const fromB64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'))

export function notaryDevice(init: NotaryInit = {}): DeviceBuilder {
  return ({ signer, log }: DeviceComponents) => {
    let heartbeat: ReturnType<typeof setInterval> | undefined
    let beats = 0

    return {
      name: 'notary@1.0',
      info: { description: 'Resolves a path through any device and signs the answer with the node key.' },
      // A signature over RSA-PSS is salted: the same request signs differently each time.
      deterministic: false,
      keys: {
        async notarize(_base, req, ctx) {
          if (typeof req.target !== 'string') throw new TypeError('notary: "target" must be a path')
          const answer = await ctx.resolve(req.target)
          const text = typeof answer.value === 'string' ? answer.value : JSON.stringify(answer.value)
          const signature = await signer.sign(SIGNATURE_TAG, UTF8.encode(answer.id))
          const result: Message = {
            device: 'notary@1.0', target: req.target, 'result-id': answer.id, hashpath: answer.hashpath,
            summary: text.length > 80 ? `${text.slice(0, 77)}...` : text,
            signer: signer.address, signature: toB64(signature),
          }
          return result
        },
      },
      routes(app: unknown, http: HttpKit) {
        const hono = app as Hono
        hono.get('/notary/status', (c) => c.json({ running: heartbeat !== undefined, beats }))
        hono.get('/notary/verify', (c) => {
          const id = c.req.query('result-id') ?? ''
          const signature = c.req.query('signature') ?? ''
          const valid = id !== '' && signature !== '' && signer.verify(SIGNATURE_TAG, UTF8.encode(id), fromB64(signature))
          return c.json({ valid, signer: signer.address, limit: http.bodyLimit })
        })
      },
      async start() {
        if (heartbeat !== undefined) return
        heartbeat = setInterval(() => { beats++ }, init.heartbeatMs ?? 1000)
        heartbeat.unref()
        log.info({ device: 'notary@1.0' }, 'notary: started')
      },
      async stop() {
        if (heartbeat === undefined) return
        clearInterval(heartbeat)
        heartbeat = undefined
        log.info({ device: 'notary@1.0' }, 'notary: stopped')
      },
    }
  }
}

export default notaryDevice({ heartbeatMs: 20 })
