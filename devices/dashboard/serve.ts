/**
 * @module
 * Serving the built dashboard (`dist/dashboard`, made by `npm run build`): `GET
 * /~dashboard@1.0/<file>`, and `GET /` for a browser (`accept` prefers `text/html`; API clients
 * keep the JSON answer). Files are read once and kept; only names the build produced are
 * served (no path from the request ever reaches the file system); other names under the prefix
 * are the device's keys and go to the resolver.
 *
 * Every answer carries a strict Content-Security-Policy: scripts, styles and connections from
 * the node's own origin only, no inline code, no framing, no plug-ins, no form targets.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import type { Context, Hono } from 'hono'

export const DASHBOARD_PREFIX = '/~dashboard@1.0/'

export const DASHBOARD_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self' data:",
  "font-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ')

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json',
}

function readBuild(root: string): Map<string, { bytes: Uint8Array; type: string }> {
  const files = new Map<string, { bytes: Uint8Array; type: string }>()
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else files.set(relative(root, path).split(sep).join('/'), { bytes: readFileSync(path), type: TYPES[extname(name)] ?? 'application/octet-stream' })
    }
  }
  try {
    walk(root)
  } catch {
    // Not built (a checkout without `npm run build`): the routes say so.
  }
  return files
}

/** True when the client would rather have HTML than JSON (a browser navigating). */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false
  const html = accept.indexOf('text/html')
  if (html === -1) return false
  const json = accept.indexOf('application/json')
  return json === -1 || html < json
}

export function mountDashboard(app: Hono, opts: { root: string }): void {
  const files = readBuild(opts.root)
  const send = (c: Context, name: string): Response => {
    const file = files.get(name)
    const headers: Record<string, string> = { 'content-security-policy': DASHBOARD_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' }
    if (file === undefined) {
      const body = files.size === 0 ? 'dashboard not built: run `npm run build`' : 'no such dashboard file'
      return c.text(body, files.size === 0 ? 503 : 404, headers)
    }
    // Hashed asset names never change content; the page itself is re-read on every visit.
    headers['cache-control'] = name.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'
    headers['content-type'] = file.type
    return c.body(file.bytes as Uint8Array<ArrayBuffer>, 200, headers)
  }
  app.get('/', async (c, next) => (prefersHtml(c.req.header('accept')) ? send(c, 'index.html') : next()))
  app.get(DASHBOARD_PREFIX, (c) => send(c, 'index.html'))
  // Other names under the prefix are the device's keys (`chain&…`, `info`): the resolver's.
  app.get(`${DASHBOARD_PREFIX}:file{(?:assets/)?[A-Za-z0-9._-]+}`, async (c, next) => (files.has(c.req.param('file')) ? send(c, c.req.param('file')) : next()))
}
