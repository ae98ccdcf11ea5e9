/**
 * @module
 * The node's lifecycle over its devices: `start` runs every device's `start` in registration
 * order, `stop` runs them in reverse (a failing one is logged, the others still stop) and then
 * closes the store. Both idempotent; a second `start` waits for the first.
 */
import type { Store } from '../core/store.js'
import type { Device, Logger } from '../core/types.js'

export function deviceLifecycle(devices: readonly Device[], store: Store, log: Logger): { start(): Promise<void>; stop(): Promise<void> } {
  let state: 'new' | 'started' | 'stopped' = 'new'
  let starting: Promise<void> | undefined
  return {
    async start() {
      if (state === 'started') return
      starting ??= (async () => {
        for (const device of devices) await device.start?.()
        state = 'started'
      })()
      await starting
    },
    async stop() {
      if (state === 'stopped') return
      state = 'stopped'
      for (const device of [...devices].reverse()) {
        try {
          await device.stop?.()
        } catch (err) {
          log.error({ err, device: device.name }, 'device failed to stop')
        }
      }
      await store.close()
    },
  }
}
