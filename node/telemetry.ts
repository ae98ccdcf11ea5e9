/**
 * @module
 * OpenTelemetry traces through `@opentelemetry/api` alone: without an SDK registered by the
 * user (`node --import ./otel.mjs bin/hashbeam.js serve`, docs/observability.md) every call
 * here is the API's no-op, and the per-step hook returns at once (no active span).
 *
 * Spans:
 * - `HTTP <method>` (server) per request, with `http.request.method`, `url.path`,
 *   `http.response.status_code`, and `hashbeam.hashpath` / `hashbeam.cached` of the answer;
 * - `step <device>/<key>` per resolver step, recorded when the step ends (its start is
 *   back-dated), with `hashbeam.device`, `hashbeam.key`, `hashbeam.hashpath`,
 *   `hashbeam.cache` (memory | ledger | executed | failed) and `hashbeam.cache_hit`;
 * - `<operation> <model>` per inference with the GenAI semantic conventions
 *   (`gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`,
 *   `gen_ai.request.{temperature,top_p,max_tokens,seed}`, `gen_ai.response.model`,
 *   `gen_ai.response.finish_reasons`, `gen_ai.usage.{input,output}_tokens`).
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api'
import type { StepObserver } from '../core/resolve.js'
import type { InferResult } from '../devices/gpu-infer/index.js'

const TRACER = 'hashbeam'
const tracer = () => trace.getTracer(TRACER)

/** `performance.now()` of an instant → the epoch milliseconds a span takes. */
const epochMs = (now: number): number => performance.timeOrigin + now

/** The step hook: a span per step, child of the request's span; nothing when none is active. */
export const traceStep: StepObserver = (device, key, hashpath, source, startedAt) => {
  const parent = context.active()
  if (trace.getSpan(parent) === undefined) return
  const span = tracer().startSpan(`step ${device}/${key}`, {
    startTime: epochMs(startedAt),
    attributes: {
      'hashbeam.device': device, 'hashbeam.key': key, 'hashbeam.hashpath': hashpath,
      'hashbeam.cache': source, 'hashbeam.cache_hit': source === 'memory' || source === 'ledger',
    },
  }, parent)
  if (source === 'failed') span.setStatus({ code: SpanStatusCode.ERROR })
  span.end()
}

/** A request's span: `end` takes the status and what the answer was. */
export interface RequestSpan {
  /** Runs `fn` with this span active (so steps and inferences nest under it). */
  run<T>(fn: () => T): T
  end(status: number, answer?: { hashpath: string; cached: boolean }): void
}

const SERVER = { kind: SpanKind.SERVER }
const IDLE: RequestSpan = { run: (fn) => fn(), end: () => undefined }

/** Opens a server span for a request (its path read only when recorded); inert without an SDK. */
export function requestSpan(request: { readonly method: string; readonly path: string }): RequestSpan {
  const method = request.method
  const span = tracer().startSpan(`HTTP ${method}`, SERVER)
  if (!span.isRecording()) return IDLE
  span.setAttributes({ 'http.request.method': method, 'url.path': request.path.slice(0, 512) })
  const active = trace.setSpan(context.active(), span)
  return {
    run: (fn) => context.with(active, fn),
    end(status, answer) {
      span.setAttribute('http.response.status_code', status)
      if (answer !== undefined) span.setAttributes({ 'hashbeam.hashpath': answer.hashpath, 'hashbeam.cached': answer.cached })
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
      span.end()
    },
  }
}

/** What an inference span records of the answer. */
export interface InferenceSpan {
  record(result: InferResult): void
}

/** Runs an inference inside a GenAI span (`chat <model>`); `fn` gets undefined when not traced. */
export async function inferenceSpan<T>(
  operation: 'chat' | 'text_completion', request: { model?: string; temperature?: number; topP?: number; maxTokens?: number; seed?: number } | undefined,
  fn: (span: InferenceSpan | undefined) => Promise<T>,
): Promise<T> {
  const model = request?.model ?? 'default'
  const attributes: Attributes = { 'gen_ai.operation.name': operation, 'gen_ai.provider.name': 'llama.cpp', 'gen_ai.request.model': model }
  if (typeof request?.temperature === 'number') attributes['gen_ai.request.temperature'] = request.temperature
  if (typeof request?.topP === 'number') attributes['gen_ai.request.top_p'] = request.topP
  if (typeof request?.maxTokens === 'number') attributes['gen_ai.request.max_tokens'] = request.maxTokens
  if (typeof request?.seed === 'number') attributes['gen_ai.request.seed'] = request.seed
  const span: Span = tracer().startSpan(`${operation} ${model}`, { kind: SpanKind.INTERNAL, attributes })
  if (!span.isRecording()) return fn(undefined)
  try {
    return await context.with(trace.setSpan(context.active(), span), () => fn({ record: (r) => recordInference(span, r) }))
  } catch (err) {
    span.recordException(err as Error)
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message })
    throw err
  } finally {
    span.end()
  }
}

function recordInference(span: Span, r: InferResult): void {
  span.setAttributes({
    'gen_ai.response.model': r.model.name,
    'gen_ai.response.finish_reasons': [r.finishReason],
    'gen_ai.usage.input_tokens': r.usage.promptTokens,
    'gen_ai.usage.output_tokens': r.usage.completionTokens,
    'hashbeam.model.sha256': r.model.sha256,
    'hashbeam.time_to_first_token_ms': r.timings.queueMs + r.timings.loadMs + r.timings.firstTokenMs,
  })
  if (r.sampler.seed !== null && r.sampler.seed !== undefined) span.setAttribute('gen_ai.request.seed', r.sampler.seed)
}
