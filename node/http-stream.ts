/**
 * @module
 * The plumbing of long-running HTTP answers: an AbortSignal tied to the client and a time limit,
 * and a Server-Sent Events response whose producer is cancelled when the client goes away.
 */

/**
 * An AbortSignal that fires when the client goes away or the time limit passes. Built by hand:
 * `AbortSignal.any` costs ~130 µs per request on Node 20, more than resolving a cached step.
 * `cleanups` receives the function that releases the timer and the listener.
 */
export function linkAbort(client: AbortSignal, timeoutMs: number, cleanups: Array<() => void>): AbortSignal {
  const controller = new AbortController()
  const onAbort = () => controller.abort(client.reason)
  client.addEventListener('abort', onAbort, { once: true })
  const timer = setTimeout(() => controller.abort(new Error(`request timed out after ${timeoutMs} ms`)), timeoutMs)
  timer.unref()
  cleanups.push(() => {
    clearTimeout(timer)
    client.removeEventListener('abort', onAbort)
  })
  return controller.signal
}

/** Writes one SSE frame: `event:` (when named) and `data:`. */
export type SendEvent = (data: string, event?: string) => void

/**
 * A `text/event-stream` response. `produce` writes frames with `send` and resolves when done;
 * its signal aborts when `parent` does or the client disconnects. `onDone` runs once at the end.
 */
export function eventStreamResponse(
  produce: (send: SendEvent, signal: AbortSignal) => Promise<void>,
  parent: AbortSignal,
  headers: Record<string, string>,
  onDone: () => void = () => undefined,
): Response {
  const encoder = new TextEncoder()
  const abort = new AbortController()
  const forward = () => abort.abort(parent.reason)
  parent.addEventListener('abort', forward, { once: true })
  let open = true
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send: SendEvent = (data, event) => {
        if (!open) return
        controller.enqueue(encoder.encode(`${event === undefined ? '' : `event: ${event}\n`}data: ${data}\n\n`))
      }
      produce(send, abort.signal).finally(() => {
        if (open) controller.close()
        open = false
        parent.removeEventListener('abort', forward)
        onDone()
      })
    },
    cancel(reason) {
      open = false
      abort.abort(reason)
    },
  })
  return new Response(body, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers },
  })
}
