// Traces: with an OpenTelemetry SDK registered (in-memory exporter, AsyncLocalStorage context),
// a request over real HTTP yields a server span, a span per resolver step (device, key,
// hashpath, cache) under it, and an inference span with the GenAI attribute names. The same
// inference moves the llama-server style metrics by exactly its token counts.
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HashbeamNode } from '../../node/index.js'
import { listen, type RunningServer } from '../../node/server.js'
import { modelDir, type ModelDir } from '../devices/gpu-infer/fixtures.js'
import { parseMetrics, sampleSum } from '../helpers/metrics.js'
import { testNode } from '../helpers/node.js'

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const contextManager = new AsyncLocalStorageContextManager().enable()
let models: ModelDir
let node: HashbeamNode
let server: RunningServer

beforeAll(async () => {
  trace.setGlobalTracerProvider(provider)
  context.setGlobalContextManager(contextManager)
  models = await modelDir()
  const tiny = await models.make('tiny', { size: 'tiny', seed: 7, chatTemplate: true })
  node = await testNode({ config: { models: { tiny }, threads: 1, contextSize: 512, batchSize: 256, metrics: 'public' } })
  server = await listen(node, 0, '127.0.0.1')
})
afterAll(async () => {
  await server.close()
  await models.cleanup()
  await provider.shutdown()
  trace.disable()
  context.disable()
})

const spansOf = (traceId: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId)

describe('traces', () => {
  it('a request span with a step span per step, child of it, naming device, key, hashpath and cache', async () => {
    exporter.reset()
    const path = '/~message@1.0&a=1/set&b=2/b'
    const first = await fetch(server.url + path)
    const second = await fetch(server.url + path)
    expect([first.status, second.status]).toEqual([200, 200])
    const requests = exporter.getFinishedSpans().filter((s) => s.name === 'HTTP GET')
    expect(requests).toHaveLength(2)
    const [a, b] = requests.map((r) => ({ request: r, steps: spansOf(r.spanContext().traceId).filter((s) => s.name.startsWith('step ')) }))
    for (const { request, steps } of [a!, b!]) {
      expect(request.attributes['http.response.status_code']).toBe(200)
      expect(request.attributes['hashbeam.hashpath']).toBe(first.headers.get('hashpath'))
      expect(steps.map((s) => s.name)).toEqual(['step message@1.0/set', 'step message@1.0/b'])
      for (const s of steps) expect(s.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
    }
    expect(a!.steps[1]!.attributes).toMatchObject({ 'hashbeam.device': 'message@1.0', 'hashbeam.key': 'b', 'hashbeam.hashpath': first.headers.get('hashpath'), 'hashbeam.cache': 'executed', 'hashbeam.cache_hit': false })
    expect(b!.steps[1]!.attributes).toMatchObject({ 'hashbeam.cache': 'memory', 'hashbeam.cache_hit': true })
  })

  it('an inference span with GenAI attributes; the metrics move by its token counts', async () => {
    const before = parseMetrics(await (await fetch(`${server.url}/metrics`)).text())
    exporter.reset()
    const res = await fetch(`${server.url}/~gpu-infer@1.0/run&model=tiny&prompt=hello&max-tokens+integer=5`, { headers: { accept: 'application/json' } })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { usage: { 'prompt-tokens': number; 'completion-tokens': number } }
    const inference = exporter.getFinishedSpans().find((s) => s.name === 'text_completion tiny')
    expect(inference?.attributes).toMatchObject({
      'gen_ai.operation.name': 'text_completion', 'gen_ai.provider.name': 'llama.cpp', 'gen_ai.request.model': 'tiny',
      'gen_ai.request.max_tokens': 5, 'gen_ai.response.model': 'tiny',
      'gen_ai.usage.input_tokens': body.usage['prompt-tokens'], 'gen_ai.usage.output_tokens': body.usage['completion-tokens'],
    })
    const request = exporter.getFinishedSpans().find((s) => s.name === 'HTTP GET')!
    expect(inference!.spanContext().traceId).toBe(request.spanContext().traceId)

    const after = parseMetrics(await (await fetch(`${server.url}/metrics`)).text())
    const moved = (name: string) => sampleSum(after, name, { model: 'tiny' }) - sampleSum(before, name, { model: 'tiny' })
    expect(moved('hashbeam_llamacpp_prompt_tokens_total')).toBe(body.usage['prompt-tokens'])
    expect(moved('hashbeam_llamacpp_tokens_predicted_total')).toBe(body.usage['completion-tokens'])
    expect(moved('hashbeam_llamacpp_requests_total')).toBe(1)
    expect(sampleSum(after, 'hashbeam_llamacpp_model_loaded', { model: 'tiny' })).toBe(1)
    expect(sampleSum(after, 'hashbeam_llamacpp_requests_processing', { model: 'tiny' })).toBe(0)
  })
})
