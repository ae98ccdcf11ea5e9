/**
 * @module
 * The node's Prometheus metrics (prom-client), one registry per node. Names follow the tools
 * operators already graph (research/scale-out.md §5): llama-server's vocabulary for inference
 * (`prompt_tokens_total`, `tokens_predicted_total`, `requests_processing`, `requests_deferred`),
 * vLLM's latency histograms (`time_to_first_token_seconds`, `time_per_output_token_seconds`),
 * all under the `hashbeam_` prefix. docs/observability.md lists every family.
 *
 * Label values are bounded whatever clients send, so a scrape cannot be blown up by requests:
 * a device label is a registered device or `other`; a key label is a key the device declares
 * (`keys`/`exports`) or `other` (a `~message@1.0&a=1/a` key is the client's word); a model is a
 * configured model or `stored` (models used by sha256 from the store are anyone's upload); a
 * status is a number the node itself chose.
 *
 * The hot path (a cached HTTP answer) pays for a labelled child looked up in a Map and one
 * observe: children are cached by their label values, never rebuilt per request.
 */
import client from 'prom-client'
import type { Registry as DeviceRegistry } from '../core/registry.js'

/** Where a resolver step's answer came from. */
export type StepSource = 'memory' | 'ledger' | 'executed' | 'failed'

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const STORE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2]
const TOKEN_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const LOAD_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

/** What the metrics read at scrape time (never on a request's path). */
export interface MetricsSources {
  /** The node's devices (labels name only these), read at each request. */
  readonly devices: DeviceRegistry
  /** Configured model names (bounded by the operator); others are labelled `stored`. */
  readonly models: () => readonly string[]
  /** Queue occupancy per model (gpu-infer engine). */
  readonly engineStats?: () => ReadonlyArray<{ name: string; loaded: boolean; running: number; waiting: number }>
}

/** One inference, as the engine reported it. */
export interface InferenceFigures {
  readonly model: string
  readonly finishReason: string
  readonly promptTokens: number
  readonly completionTokens: number
  /** From arrival at the engine to the first token (queue and load included), seconds. */
  readonly firstTokenSeconds: number
  /** Average time per generated token after the first, seconds; 0 when unknown. */
  readonly perTokenSeconds: number
  /** Model load paid by this request, seconds (0 when already loaded). */
  readonly loadSeconds: number
}

export interface NodeMetrics {
  readonly registry: client.Registry
  readonly contentType: string
  /** Bounded labels for a request aimed at `device` (any name) and `key` (any text). */
  labels(device: string | undefined, key: string | undefined): readonly [string, string]
  http(device: string, key: string, status: number, seconds: number): void
  step(device: string, source: StepSource): void
  storeOp(op: string, seconds: number): void
  ledgerWrites(steps: number, messages: number): void
  inference(f: InferenceFigures): void
  modelLoad(model: string, seconds: number): void
  verify(kind: 'verify' | 'replay', valid: boolean, divergent: number): void
  /** The exposition text. */
  text(): Promise<string>
}

export function createMetrics(sources: MetricsSources, storeKind: string): NodeMetrics {
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry, prefix: 'hashbeam_' })
  const reg = [registry]
  const httpTotal = new client.Counter({ name: 'hashbeam_http_requests_total', help: 'HTTP requests answered, by target device, key and status', labelNames: ['device', 'key', 'status'], registers: reg })
  const httpSeconds = new client.Histogram({ name: 'hashbeam_http_request_duration_seconds', help: 'Time to the response head (a stream: to its first byte), by device and key', labelNames: ['device', 'key'], buckets: LATENCY_BUCKETS, registers: reg })
  const steps = new client.Counter({ name: 'hashbeam_resolver_steps_total', help: 'Resolver steps by device and where the answer came from: memory (hot cache), ledger (step record), executed, failed', labelNames: ['device', 'source'], registers: reg })
  const ledger = new client.Counter({ name: 'hashbeam_ledger_writes_total', help: 'Records written to the store: step records and messages', labelNames: ['kind'], registers: reg })
  const storeSeconds = new client.Histogram({ name: 'hashbeam_store_operation_duration_seconds', help: 'Store operations by backend and operation', labelNames: ['backend', 'op'], buckets: STORE_BUCKETS, registers: reg })
  const verifyRuns = new client.Counter({ name: 'hashbeam_verify_runs_total', help: 'verify and replay runs by outcome (valid: the chain checked out, no divergence)', labelNames: ['kind', 'outcome'], registers: reg })
  const divergences = new client.Counter({ name: 'hashbeam_replay_divergences_total', help: 'Steps whose replay did not match their record', registers: reg })
  const promptTokens = new client.Counter({ name: 'hashbeam_llamacpp_prompt_tokens_total', help: 'Prompt tokens processed (llama-server: prompt_tokens_total)', labelNames: ['model'], registers: reg })
  const predicted = new client.Counter({ name: 'hashbeam_llamacpp_tokens_predicted_total', help: 'Tokens generated (llama-server: tokens_predicted_total)', labelNames: ['model'], registers: reg })
  const inferences = new client.Counter({ name: 'hashbeam_llamacpp_requests_total', help: 'Inference requests finished, by model and finish reason', labelNames: ['model', 'finish_reason'], registers: reg })
  const ttft = new client.Histogram({ name: 'hashbeam_llamacpp_time_to_first_token_seconds', help: 'Arrival at the engine to the first token, queue and load included (vLLM: time_to_first_token_seconds)', labelNames: ['model'], buckets: TTFT_BUCKETS, registers: reg })
  const perToken = new client.Histogram({ name: 'hashbeam_llamacpp_time_per_output_token_seconds', help: 'Mean time per generated token after the first, per request (vLLM: time_per_output_token_seconds)', labelNames: ['model'], buckets: TOKEN_BUCKETS, registers: reg })
  const loadSeconds = new client.Histogram({ name: 'hashbeam_llamacpp_model_load_seconds', help: 'Model loads by model', labelNames: ['model'], buckets: LOAD_BUCKETS, registers: reg })
  const queueGauge = (name: string, help: string, pick: (s: { running: number; waiting: number }) => number) => new client.Gauge({
    name, help, labelNames: ['model'], registers: reg,
    collect() {
      this.reset()
      for (const s of sources.engineStats?.() ?? []) this.inc({ model: modelLabel(s.name) }, pick(s))
    },
  })
  queueGauge('hashbeam_llamacpp_requests_processing', 'Inference requests running now (llama-server: requests_processing)', (s) => s.running)
  queueGauge('hashbeam_llamacpp_requests_deferred', 'Inference requests waiting in a model queue (llama-server: requests_deferred)', (s) => s.waiting)
  new client.Gauge({
    name: 'hashbeam_llamacpp_model_loaded', help: '1 when the model is loaded', labelNames: ['model'], registers: reg,
    collect() {
      this.reset()
      for (const s of sources.engineStats?.() ?? []) this.inc({ model: modelLabel(s.name) }, s.loaded ? 1 : 0)
    },
  })
  const started = Date.now()
  new client.Gauge({ name: 'hashbeam_uptime_seconds', help: 'Seconds since the node was built', registers: reg, collect() { this.set((Date.now() - started) / 1000) } })

  const modelLabel = (name: string): string => (sources.models().includes(name) ? name : 'stored')

  // Labelled children, cached: building one hashes its labels, which a request should not pay.
  const children = new Map<string, { inc(): void } | { observe(v: number): void }>()
  const child = <T>(cacheKey: string, make: () => T): T => {
    let c = children.get(cacheKey) as T | undefined
    if (c === undefined) {
      c = make()
      children.set(cacheKey, c as never)
    }
    return c
  }

  const labels = (device: string | undefined, key: string | undefined): readonly [string, string] => {
    const devices = sources.devices
    const name = device ?? 'message@1.0'
    if (!devices.has(name)) return ['other', 'other']
    const found = devices.get(name)
    const k = key ?? ''
    const declared = Object.hasOwn(found.keys, k) || (found.exports?.includes(k) ?? false)
    return [found.name, declared ? k : 'other']
  }

  return {
    registry,
    contentType: registry.contentType,
    labels,
    http(device, key, status, seconds) {
      const s = status >= 100 && status <= 599 ? status : 0
      child(`h\0${device}\0${key}\0${s}`, () => httpTotal.labels(device, key, String(s))).inc()
      child(`d\0${device}\0${key}`, () => httpSeconds.labels(device, key)).observe(seconds)
    },
    step(device, source) {
      child(`s\0${device}\0${source}`, () => steps.labels(device, source)).inc()
    },
    storeOp(op, seconds) {
      child(`o\0${op}`, () => storeSeconds.labels(storeKind, op)).observe(seconds)
    },
    ledgerWrites(stepCount, messageCount) {
      if (stepCount > 0) ledger.inc({ kind: 'step' }, stepCount)
      if (messageCount > 0) ledger.inc({ kind: 'message' }, messageCount)
    },
    inference(f) {
      const model = modelLabel(f.model)
      promptTokens.inc({ model }, f.promptTokens)
      predicted.inc({ model }, f.completionTokens)
      inferences.inc({ model, finish_reason: f.finishReason })
      if (f.completionTokens > 0) ttft.observe({ model }, f.firstTokenSeconds)
      if (f.perTokenSeconds > 0) perToken.observe({ model }, f.perTokenSeconds)
      if (f.loadSeconds > 0) loadSeconds.observe({ model }, f.loadSeconds)
    },
    modelLoad(model, seconds) {
      loadSeconds.observe({ model: modelLabel(model) }, seconds)
    },
    verify(kind, valid, divergent) {
      verifyRuns.inc({ kind, outcome: valid ? 'valid' : 'invalid' })
      if (divergent > 0) divergences.inc(divergent)
    },
    text: () => registry.metrics(),
  }
}
