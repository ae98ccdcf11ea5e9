/**
 * The HTTP leg of the inference benchmark: a real `hashbeam serve` process with the benchmark's
 * model and settings, timed from the client as a user sees it — first token = request sent to
 * first streamed token, tokens/s = the decode after it.
 */
import { join } from 'node:path'
import { hashbeamServe } from './server-process.js'

export interface NodeProcess { url: string; stop(): Promise<void> }

export async function startNodeProcess(modelPath: string, dataDir: string, o: { threads: number; contextSize: number; batchSize: number; flashAttention: boolean }): Promise<NodeProcess> {
  return hashbeamServe(['--port', '0', '--data', join(dataDir, 'node'), '--store', 'memory',
    '--model', `bench=${modelPath}`, '--preload', '--gpu', 'off', '--threads', String(o.threads),
    '--context-size', String(o.contextSize), '--batch-size', String(o.batchSize), ...(o.flashAttention ? ['--flash-attention'] : [])])
}

/** One streamed completion; counts tokens by `token` events. */
export async function viaHttp(url: string, prompt: string, maxTokens: number): Promise<{ firstTokenMs: number; tokensPerSecond: number; totalMs: number; tokens: number[]; text: string }> {
  const began = performance.now()
  const res = await fetch(`${url}/~gpu-infer@1.0/run&model=bench&max-tokens+integer=${maxTokens}&prompt=${encodeURIComponent(prompt)}&stream=true`, {
    headers: { 'cache-control': 'no-cache' },
  })
  if (res.body === null) throw new Error(`bench: HTTP ${res.status}`)
  const decoder = new TextDecoder()
  let first = 0
  let count = 0
  let text = ''
  let buffer = ''
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    let at: number
    while ((at = buffer.indexOf('\n\n')) !== -1) {
      const frame = buffer.slice(0, at)
      buffer = buffer.slice(at + 2)
      if (!frame.startsWith('event: token')) continue
      if (count === 0) first = performance.now()
      count++
      text += (JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as { text: string }).text
    }
  }
  const end = performance.now()
  // Pieces, not tokens, are streamed (UTF-8 is held back until complete): close enough for rate.
  return { firstTokenMs: first - began, tokensPerSecond: (count - 1) / ((end - first) / 1000), totalMs: end - began, tokens: new Array<number>(count).fill(-1), text }
}
