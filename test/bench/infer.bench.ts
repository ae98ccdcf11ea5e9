/**
 * Inference benchmark: the gpu-infer engine against node-llama-cpp called directly, on the same
 * generated medium model (~26M params, F16) with the same parameters, in one process.
 *
 * Both paths decode greedily from the same prompt tokens on a one-sequence context of the same
 * size, batch and thread count; runs alternate (engine, direct, engine, …) after a warm-up of
 * each so neither gets the cold caches. Both are timed the same way: first-token latency from
 * the start of evaluation (prompt included) to the first sampled token; tokens/s over the
 * decode after it. The difference is the engine's own overhead: queue, validation, stop and
 * UTF-8 handling, streaming bookkeeping. The tables also confirm both paths produced the same
 * tokens (determinism is the product; a faster wrong answer would not count).
 *
 * Run: `benchInfer()` from code, or `node dist/test/bench/infer.bench.js` after a build.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp'
import { writeGguf, type GgufSize } from '../../devices/gpu-infer/gguf.js'
import { startNodeProcess, viaHttp } from './infer-http.js'
import { createEngine } from '../../devices/gpu-infer/engine.js'
import type { Logger } from '../../core/types.js'

export interface BenchInferOptions {
  size?: GgufSize
  threads?: number
  repeats?: number
  maxTokens?: number
  contextSize?: number
  batchSize?: number
  flashAttention?: boolean
  gpu?: 'auto' | false
  prompt?: string
}

interface Run { firstTokenMs: number; tokensPerSecond: number; totalMs: number; tokens: number[]; text?: string }

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (x: number, d = 1) => x.toFixed(d)

const DEFAULT_PROMPT = 'Once upon a time, in a content-addressed land far away, a node computed a hashpath ' +
  'for every step it took, and every llama that asked could replay the whole story from its inputs.'

export async function benchInfer(opts: BenchInferOptions = {}): Promise<string> {
  const o = {
    size: opts.size ?? 'medium', threads: opts.threads ?? 1, repeats: opts.repeats ?? 5, maxTokens: opts.maxTokens ?? 128,
    contextSize: opts.contextSize ?? 1024, batchSize: opts.batchSize ?? 512, flashAttention: opts.flashAttention ?? false,
    gpu: opts.gpu ?? false, prompt: opts.prompt ?? DEFAULT_PROMPT,
  }
  const dir = await mkdtemp(join(tmpdir(), 'hashbeam-bench-'))
  const path = join(dir, `${o.size}.gguf`)
  const genStart = performance.now()
  const bytes = await writeGguf(path, { size: o.size, seed: 1 })
  const genMs = performance.now() - genStart

  const engine = createEngine({ gpu: o.gpu, threads: o.threads, batchSize: o.batchSize, contextSize: o.contextSize,
    flashAttention: o.flashAttention, maxQueue: 1, log: silent })
  const llama = await getLlama({ gpu: o.gpu, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.warn })
  try {
    const profile = await engine.init()
    await engine.addModel('bench', path)
    await engine.preload('bench')
    const model = await llama.loadModel({ modelPath: path, gpuLayers: llama.gpu === false ? 0 : 'max' })
    const context = await model.createContext({ contextSize: o.contextSize, batchSize: o.batchSize, threads: o.threads,
      flashAttention: o.flashAttention, sequences: 1 })
    const promptTokens: Token[] = [model.tokens.bos!, ...model.tokenize(o.prompt, false)]
    // The whole device over HTTP: a real node process with the same model and settings.
    const node = await startNodeProcess(path, dir, o)

    const viaEngine = async (): Promise<Run> => {
      const r = await engine.complete({ model: 'bench', prompt: o.prompt, maxTokens: o.maxTokens, temperature: 0 })
      return { firstTokenMs: r.timings.firstTokenMs, tokensPerSecond: r.timings.tokensPerSecond, totalMs: r.timings.totalMs, tokens: r.tokens }
    }
    const direct = async (): Promise<Run> => {
      const began = performance.now()
      const seq = context.getSequence()
      const tokens: number[] = []
      let first = 0
      for await (const t of seq.evaluate(promptTokens, { temperature: 0 })) {
        if (tokens.length === 0) first = performance.now()
        tokens.push(t)
        if (tokens.length >= o.maxTokens) break
      }
      const end = performance.now()
      await seq.dispose()
      return { firstTokenMs: first - began, tokensPerSecond: (tokens.length - 1) / ((end - first) / 1000), totalMs: end - began, tokens }
    }

    const http = () => viaHttp(node.url, o.prompt, o.maxTokens)
    await viaEngine(); await direct(); await http() // warm-up
    const runs = { engine: [] as Run[], direct: [] as Run[], http: [] as Run[] }
    try {
      for (let i = 0; i < o.repeats; i++) {
        runs.engine.push(await viaEngine())
        runs.direct.push(await direct())
        runs.http.push(await http())
      }
    } finally {
      await node.stop()
    }
    const sameText = runs.http.every((r) => r.text === runs.http[0]!.text)
    const same = runs.engine.every((r) => r.tokens.join() === runs.direct[0]!.tokens.join()) &&
      runs.direct.every((r) => r.tokens.join() === runs.direct[0]!.tokens.join())
    const row = (name: string, rs: Run[]) =>
      `| ${name} | ${fmt(median(rs.map((r) => r.tokensPerSecond)))} | ${fmt(median(rs.map((r) => r.firstTokenMs)), 2)} | ` +
      `${fmt(median(rs.map((r) => r.totalMs)))} | ${rs[0]!.tokens.length} |`
    const e = median(runs.engine.map((r) => r.tokensPerSecond))
    const d = median(runs.direct.map((r) => r.tokensPerSecond))
    const h = median(runs.http.map((r) => r.tokensPerSecond))
    return [
      `### gpu-infer engine vs node-llama-cpp direct (${o.size}, ${(bytes / 1e6).toFixed(1)} MB, generated in ${fmt(genMs, 0)} ms)`,
      '',
      `profile: backend ${profile.backend}${profile.cpuVariant === null ? '' : ` (${profile.cpuVariant})`}, ${profile.llamaCppBuild}, ` +
        `node-llama-cpp ${profile.nodeLlamaCpp}, threads ${o.threads}, batch ${o.batchSize}, context ${profile.contextSize}, ` +
        `flash attention ${o.flashAttention}; prompt ${promptTokens.length} tokens, greedy, median of ${o.repeats} after warm-up`,
      '',
      '| path | tokens/s (decode) | first token ms | total ms | tokens |',
      '| --- | --- | --- | --- | --- |',
      row('engine', runs.engine),
      row('gpu-infer device over HTTP (SSE, no-cache)', runs.http),
      row('node-llama-cpp direct', runs.direct),
      '',
      `decode speed relative to direct: device over HTTP ${fmt((h / d) * 100, 0)}%, engine ${fmt((e / d) * 100, 0)}%; ` +
        `identical tokens engine/direct: ${same ? 'yes' : 'NO'}; identical output over HTTP every run: ${sameText ? 'yes' : 'NO'}`,
    ].join('\n')
  } finally {
    await engine.close()
    await llama.dispose()
    await rm(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchInfer())
}
