/**
 * @module
 * Serving a node over HTTP with `@hono/node-server`, and shutting down cleanly: on SIGINT or
 * SIGTERM the server stops accepting, in-flight requests finish (bounded by a grace period),
 * devices stop in reverse order and the store is closed, so no acknowledged write is lost.
 *
 * Slow clients are cut off (docs/security.md, "Bounded work"). There is no whole-request time
 * limit — a multi-GB model upload that keeps moving may take as long as it needs — but each
 * phase where the node waits for the client has its own:
 * - **headers** (`headersTimeoutMs`): the request line and headers must arrive within it, from
 *   the moment the connection opens or the previous request ended (Node answers 408, closes);
 * - **idle** (`idleTimeoutMs`): a kept-alive connection with no request in flight is closed;
 * - **upload** (`uploadIdleTimeoutMs`): a request body that stops arriving for this long (while
 *   the node is waiting for it, not while the node is busy) has its connection closed, which
 *   ends the read with a 408 `client-gone` and frees what was buffered.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import type { RawLane } from '../core/types.js'
import type { HashbeamNode } from './index.js'

export interface RunningServer {
  readonly port: number
  readonly url: string
  /** Stops accepting, waits for in-flight requests (up to `graceMs`), stops the node. */
  close(graceMs?: number): Promise<void>
}

/** The client-facing timeouts, in milliseconds (NodeConfig carries them). */
export interface ServerTimeouts {
  readonly headersTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly uploadIdleTimeoutMs: number
}

export async function listen(node: HashbeamNode, port = node.config.port, host = node.config.host): Promise<RunningServer> {
  await node.start()
  const { headersTimeoutMs, idleTimeoutMs, uploadIdleTimeoutMs } = node.config
  const server: ServerType = await new Promise((resolvePromise, reject) => {
    const serverOptions = {
      // No whole-request limit (a multi-GB upload may take longer than Node's 5 minutes); Node
      // would then also drop its header limit (min(60 s, requestTimeout) = 0), so it is explicit.
      requestTimeout: 0,
      headersTimeout: headersTimeoutMs,
      keepAliveTimeout: idleTimeoutMs,
      // How often Node checks the header limit (its default, 30 s, would stretch it by as much).
      connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(headersTimeoutMs / 4))),
    }
    const s = serve({ fetch: node.app.fetch, port, hostname: host, serverOptions, createServer: withLanes(node.lanes) as typeof createServer }, () => resolvePromise(s))
    s.once('error', reject)
  })
  const stopWatching = watchUploads(server as Server, uploadIdleTimeoutMs, node)
  const actual = (server.address() as AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    port: actual,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        stopWatching()
        await new Promise<void>((done) => {
          const timer = setTimeout(() => {
            ;(server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.()
            done()
          }, graceMs)
          timer.unref()
          server.close(() => {
            clearTimeout(timer)
            done()
          })
          ;(server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.()
        })
        await node.stop()
      })()
      return closing
    },
  }
}

/**
 * The server, with the devices' lanes (HttpKit.preempt) in front of the app's listener: a lane
 * that takes a request answers it; every other request goes to the app.
 */
function withLanes(lanes: readonly RawLane[]): (options: ServerOptions, app: RequestListener) => Server {
  return (options, app) => createServer(options, lanes.length === 0 ? app : (req: IncomingMessage, res: ServerResponse) => {
    for (const lane of lanes) if (lane(req, res)) return
    app(req, res)
  })
}

/**
 * The upload timeout, which Node does not have: every request whose body is still arriving is
 * checked a few times per `idleMs`; if its socket has read nothing new for `idleMs` while
 * nothing waited unread in the node (so the node is not the slow side), the connection is
 * destroyed. One timer for the whole server; the per-request cost is one map entry.
 */
function watchUploads(server: Server, idleMs: number, node: HashbeamNode): () => void {
  const open = new Map<IncomingMessage, { bytes: number; since: number }>()
  const forget = (req: IncomingMessage) => () => open.delete(req)
  server.on('request', (req: IncomingMessage) => {
    // Only requests with a body are watched: a plain GET costs two header lookups.
    const length = req.headers['content-length']
    if ((length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined) return
    open.set(req, { bytes: req.socket.bytesRead, since: Date.now() })
    const done = forget(req)
    req.once('end', done)
    req.once('close', done)
  })
  const timer = setInterval(() => {
    const now = Date.now()
    for (const [req, seen] of open) {
      if (req.complete || req.destroyed) {
        open.delete(req)
        continue
      }
      const bytes = req.socket.bytesRead
      if (bytes !== seen.bytes || req.readableLength > 0) {
        seen.bytes = bytes
        seen.since = now
      } else if (now - seen.since >= idleMs) {
        open.delete(req)
        node.log.info({ path: req.url?.slice(0, 200), idleMs }, 'upload stalled: connection closed')
        req.socket.destroy()
      }
    }
  }, Math.max(50, Math.min(1_000, Math.floor(idleMs / 4))))
  timer.unref()
  return () => clearInterval(timer)
}

/** Closes the server on SIGINT/SIGTERM; a second signal exits at once. */
export function closeOnSignals(server: RunningServer, onClosed: () => void): void {
  let signalled = false
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130)
    signalled = true
    process.stderr.write(`hashbeam: ${signal} received, shutting down\n`)
    server.close().then(onClosed, (err) => {
      process.stderr.write(`hashbeam: shutdown failed: ${String(err)}\n`)
      process.exit(1)
    })
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}
