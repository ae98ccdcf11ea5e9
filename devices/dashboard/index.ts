/**
 * @module
 * Folder: one device (its index.ts is its only door). May import: core/, identity/, this folder,
 * another device only through its index.ts, the libraries it needs; never node/ (eslint/boundaries.js).
 *
 * `dashboard@1.0`: the node's web UI (node info, a hashpath explorer, an inference playground).
 *
 * The UI (`ui/`, preact, built by vite into `dist/dashboard` at `npm run build`) is static files
 * the device's own `routes` serve (`serve.ts`) at `/~dashboard@1.0/` and at `/` for browsers
 * (`accept: text/html`). It
 * only calls the node's public HTTP API, so it shows nothing a client could not fetch itself.
 * The one key the device adds is what the explorer draws:
 *
 * - `chain&hashpath=…` the step records from the chain's root to `hashpath`, oldest first (at
 *   most `limit`, default and cap 256: the newest ones, `truncated: true` when there are more).
 *   Records are public data: `verify` walks the same ones.
 *
 * @example
 * ```sh
 * curl -H 'accept: application/json' "localhost:8734/~dashboard@1.0/chain&hashpath=$Q"
 * xdg-open http://localhost:8734/                  # the dashboard
 * ```
 */
import type { Hono } from 'hono'
import { InvalidRequestError, UnprocessableError } from '../../core/errors.js'
import { splitHashpath } from '../../core/hashpath.js'
import { loadStep } from '../../core/ledger.js'
import type { Store } from '../../core/store.js'
import type { Device, Message } from '../../core/types.js'
import { mountDashboard } from './serve.js'

export { DASHBOARD_CSP, DASHBOARD_PREFIX, mountDashboard, prefersHtml } from './serve.js'

export const DASHBOARD_DEVICE_NAME = 'dashboard@1.0'
export const CHAIN_LIMIT = 256

export interface DashboardInit {
  readonly store: Store
  /** The UI's built files (`dist/dashboard`); without them the device mounts no routes. */
  readonly files?: string
}

export function dashboardDevice(init: DashboardInit): Device {
  const { files } = init
  return {
    name: DASHBOARD_DEVICE_NAME,
    info: { description: 'The web dashboard (served at /~dashboard@1.0/) and the step records its explorer draws.' },
    deterministic: false, // the store as it is now
    exports: ['chain'],
    keys: {
      async chain(_base, req) {
        const hashpath = req.hashpath
        if (typeof hashpath !== 'string' || splitHashpath(hashpath).length !== 2) {
          throw new InvalidRequestError('dashboard: chain needs a "hashpath" (<id>/<part>, as the hashpath header)', { code: 'invalid-hashpath' })
        }
        const asked = req.limit === undefined ? CHAIN_LIMIT : Number(req.limit)
        if (!Number.isInteger(asked) || asked < 1) throw new InvalidRequestError('dashboard: limit must be a positive integer', { code: 'invalid-list-argument' })
        const limit = Math.min(asked, CHAIN_LIMIT)
        const steps: Message[] = []
        let at: string | undefined = hashpath
        while (at !== undefined && steps.length < limit) {
          const record = await loadStep(init.store, at)
          if (record === undefined) break
          steps.push({ ...record })
          at = record.base.includes('/') ? record.base : undefined
        }
        if (steps.length === 0) throw new UnprocessableError(`dashboard: no step record for ${hashpath}`, { code: 'missing-record' })
        return { hashpath, truncated: at !== undefined && steps.length === limit, steps: steps.reverse() }
      },
    },
    ...(files === undefined ? {} : { routes: (app: unknown) => mountDashboard(app as Hono, { root: files }) }),
  }
}

export default dashboardDevice
