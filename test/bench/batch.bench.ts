/**
 * Concurrent clients on one model (`npm run bench -- batch`): aggregate tokens/s with 1 and with
 * 4 clients, in one run, on models from our generator (written to a temp dir, removed after).
 *
 * - the large Q8_0 model (~440 MB, memory-bound): the engine with `parallel` 4, whatever path it
 *   picks (batched, by the rule), 1 client (four requests one after another) then 4 clients
 *   (the same four at once); every output must be identical between the two, token for token;
 * - node-llama-cpp used directly on the same model: one context with 4 sequences, its default
 *   scheduling, the same four token lists at once (its outputs may differ from solo ones; how
 *   many do is reported);
 * - the medium Q8_0 model (~28 MB, compute-bound) through the engine, with the path it picks.
 * Runs alternate 1-client and 4-client rounds so neither gets the warmer caches; medians. Threads:
 * 1 (a 2-core machine shared with other work makes 2 threads swing 5× between runs), or
 * HASHBEAM_BENCH_THREADS.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { getLlama, LlamaLogLevel, type LlamaModel, type Token } from 'node-llama-cpp'
import { writeGguf, type GgufSize } from '../../devices/gpu-infer/gguf.js'
import { createEngine, type Engine } from '../../devices/gpu-infer/engine.js'
import type { Logger } from '../../core/types.js'

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (x: number, d = 1) => x.toFixed(d)

const PROMPTS = ['Once upon a time, in a content-addressed land', 'The llama computed a hashpath for',
  'Every step of the node', 'Replay the whole story from its inputs and']
const SAMPLERS = [{ temperature: 0 }, { temperature: 0.8, seed: 7 }, { temperature: 0 }, { temperature: 0.8, seed: 9 }]

interface Options { threads: number; maxTokens: number; rounds: number; contextSize: number }

/** Tokens per wall-clock second, and per second of this process's CPU time (load-robust). */
type Round = { tokensPerSecond: number; tokensPerCpuSecond: number; outputs: string[] }

/** Wall and CPU time of `run`, as rates of the tokens in its outputs. */
async function timed(run: () => Promise<string[]>): Promise<Round> {
  const cpu = process.cpuUsage()
  const began = performance.now()
  const outputs = await run()
  const used = process.cpuUsage(cpu)
  const tokens = outputs.reduce((n, s) => n + s.split(',').length, 0)
  return { tokensPerSecond: tokens / ((performance.now() - began) / 1000), tokensPerCpuSecond: tokens / ((used.user + used.system) / 1e6), outputs }
}

/** One round: the four requests one after another (clients 1) or at once (clients 4). */
function engineRound(engine: Engine, clients: 1 | 4, maxTokens: number): Promise<Round> {
  const one = async (i: number) => (await engine.complete({ model: 'm', prompt: PROMPTS[i]!, maxTokens, ...SAMPLERS[i]! })).tokens.join(',')
  return timed(async () => {
    if (clients === 4) return Promise.all(PROMPTS.map((_, i) => one(i)))
    const outputs: string[] = []
    for (let i = 0; i < PROMPTS.length; i++) outputs.push(await one(i))
    return outputs
  })
}

async function engineFigures(path: string, o: Options) {
  const engine = createEngine({ gpu: false, threads: o.threads, batchSize: 512, contextSize: o.contextSize, flashAttention: false,
    maxQueue: 8, parallel: 4, log: silent })
  try {
    await engine.addModel('m', path)
    await engine.preload('m')
    const decode = engine.listModels()[0]!.decode!
    await engineRound(engine, 4, 4) // warm-up
    const one: Round[] = []
    const four: Round[] = []
    for (let r = 0; r < o.rounds; r++) {
      one.push(await engineRound(engine, 1, o.maxTokens))
      four.push(await engineRound(engine, 4, o.maxTokens))
    }
    const width = engine.listModels()[0]!.decode!.meanDecodeBatch
    const reference = one[0]!.outputs.join('|')
    const identical = [...one, ...four].every((r) => r.outputs.join('|') === reference)
    const mid = (rs: Round[], key: 'tokensPerSecond' | 'tokensPerCpuSecond') => median(rs.map((r) => r[key]))
    return {
      decode, width, identical, reference: one[0]!.outputs,
      one: mid(one, 'tokensPerSecond'), four: mid(four, 'tokensPerSecond'), oneCpu: mid(one, 'tokensPerCpuSecond'), fourCpu: mid(four, 'tokensPerCpuSecond'),
    }
  } finally {
    await engine.close()
  }
}

/** node-llama-cpp alone: one context, 4 sequences, its default batching, the same tokens at once. */
async function directFigures(model: LlamaModel, o: Options, solo: string[]) {
  const context = await model.createContext({ contextSize: o.contextSize, batchSize: 512, threads: o.threads, flashAttention: false, sequences: 4 })
  const prompts: Token[][] = PROMPTS.map((p) => [model.tokens.bos!, ...model.tokenize(p, false)])
  const round = () => timed(() => Promise.all(prompts.map(async (tokens, i) => {
      const seq = context.getSequence()
      const out: Token[] = []
      try {
        for await (const t of seq.evaluate(tokens, { topK: 40, topP: 0.95, minP: 0, ...SAMPLERS[i]!, seed: SAMPLERS[i]!.seed ?? 0 })) {
          out.push(t)
          if (out.length >= o.maxTokens) break
        }
      } finally {
        await seq.dispose()
      }
      return out.join(',')
    })))
  try {
    await round()
    const rounds: Round[] = []
    for (let r = 0; r < o.rounds; r++) rounds.push(await round())
    const differing = rounds.reduce((n, r) => n + r.outputs.filter((s, i) => s !== solo[i]).length, 0)
    return { four: median(rounds.map((r) => r.tokensPerSecond)), fourCpu: median(rounds.map((r) => r.tokensPerCpuSecond)), differing, total: rounds.length * PROMPTS.length }
  } finally {
    await context.dispose()
  }
}

export async function benchBatch(opts: Partial<Options> & { largeSize?: GgufSize } = {}): Promise<string> {
  const o: Options = { threads: opts.threads ?? Number(process.env.HASHBEAM_BENCH_THREADS ?? 1), maxTokens: opts.maxTokens ?? 32, rounds: opts.rounds ?? 3, contextSize: opts.contextSize ?? 512 }
  const load = loadavg()[0]!
  const dir = await mkdtemp(join(tmpdir(), 'hashbeam-bench-batch-'))
  const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: LlamaLogLevel.warn })
  try {
    const largeSize = opts.largeSize ?? 'large'
    const large = join(dir, 'large-q8_0.gguf')
    const genStart = performance.now()
    const bytes = await writeGguf(large, { size: largeSize, quant: 'q8_0' })
    const genMs = performance.now() - genStart
    const ours = await engineFigures(large, o)
    const model = await llama.loadModel({ modelPath: large, gpuLayers: 0 })
    const direct = await directFigures(model, o, ours.reference).finally(() => model.dispose())
    const medium = join(dir, 'medium-q8_0.gguf')
    const mediumBytes = await writeGguf(medium, { size: 'medium', quant: 'q8_0' })
    const mediumThreads = o.threads
    const med = await engineFigures(medium, o)
    const ratio = (a: number, b: number) => `${fmt(a / b, 2)}×`
    return [
      `### 1 vs 4 concurrent clients, one model (${PROMPTS.length} requests of ${o.maxTokens} tokens, 2 greedy + 2 sampled)`,
      '',
      `load average at start ${fmt(load, 2)}; large model ${largeSize} Q8_0 ${fmt(bytes / 1e6, 0)} MB generated in ${fmt(genMs / 1000, 1)} s; ` +
        `context ${o.contextSize}, batch 512, flash attention off; median of ${o.rounds} rounds after a warm-up`,
      '',
      'tok/s = aggregate tokens per second of wall clock; cpu = per second of this process\'s CPU time (what the load does not steal).',
      '',
      '| model, threads | path (engine\'s choice, `--parallel 4`) | 1 client tok/s (cpu) | 4 clients tok/s (cpu) | 4 vs 1 wall (cpu) | outputs identical 1 vs 4 |',
      '| --- | --- | --- | --- | --- | --- |',
      `| ${largeSize} Q8_0, ${o.threads} | ${ours.decode.path} (${ours.decode.reason}; mean decode batch ${fmt(ours.width, 2)} over all rounds) | ${fmt(ours.one)} (${fmt(ours.oneCpu)}) | ${fmt(ours.four)} (${fmt(ours.fourCpu)}) | ${ratio(ours.four, ours.one)} (${ratio(ours.fourCpu, ours.oneCpu)}) | ${ours.identical ? 'yes' : 'NO'} |`,
      `| ${largeSize} Q8_0, ${o.threads}: node-llama-cpp direct, 4 sequences | library default | – | ${fmt(direct.four)} (${fmt(direct.fourCpu)}) | ${ratio(direct.four, ours.one)} (${ratio(direct.fourCpu, ours.oneCpu)}) vs our 1 client | ${direct.differing} of ${direct.total} outputs differ from ours |`,
      `| medium Q8_0 ${fmt(mediumBytes / 1e6, 0)} MB, ${mediumThreads} | ${med.decode.path} (${med.decode.reason}) | ${fmt(med.one)} (${fmt(med.oneCpu)}) | ${fmt(med.four)} (${fmt(med.fourCpu)}) | ${ratio(med.four, med.one)} (${ratio(med.fourCpu, med.oneCpu)}) | ${med.identical ? 'yes' : 'NO'} |`,
    ].join('\n')
  } finally {
    await llama.dispose()
    await rm(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchBatch())
}
