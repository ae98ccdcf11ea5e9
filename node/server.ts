/**
 * @module
 * Serving a node over HTTP with `@hono/node-server`, and shutting down cleanly: on SIGINT or
 * SIGTERM the server stops accepting, in-flight requests finish (bounded by a grace period),
 * devices stop in reverse order and the store is closed, so no acknowledged write is lost.
 */
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import type { HashbeamNode } from './index.js'

export interface RunningServer {
  readonly port: number
  readonly url: string
  /** Stops accepting, waits for in-flight requests (up to `graceMs`), stops the node. */
  close(graceMs?: number): Promise<void>
}

export async function listen(node: HashbeamNode, port = node.config.port, host = node.config.host): Promise<RunningServer> {
  await node.start()
  const server: ServerType = await new Promise((resolvePromise, reject) => {
    // No whole-request time limit: a multi-GB model upload may take longer than Node's default
    // 5 minutes. Headers must still arrive promptly (headersTimeout stays at its default).
    const s = serve({ fetch: node.app.fetch, port, hostname: host, serverOptions: { requestTimeout: 0 } }, () => resolvePromise(s))
    s.once('error', reject)
  })
  const actual = (server.address() as AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    port: actual,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`,
    close(graceMs = 10_000) {
      closing ??= (async () => {
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
