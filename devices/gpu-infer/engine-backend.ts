/**
 * @module
 * Starting llama.cpp (node-llama-cpp's `getLlama`) safely, and describing what started.
 *
 * Two rules from research/llama.md: never let node-llama-cpp download or compile at run time
 * (`build: 'never'`, `skipDownload: true`: a missing GPU binary is an error, not a 7-minute
 * build), and record everything that changes the numbers. The CPU kernel variant is not in any
 * API; it is whichever `libggml-cpu-<variant>.so` the process mapped, so on Linux we read
 * /proc/self/maps. (AVX-512 and AVX2 kernels give different last bits; a replay on another
 * variant is a profile difference, not a fault.)
 */
import { readFileSync } from 'node:fs'
import { getLlama, getModuleVersion, LlamaLogLevel, type Llama } from 'node-llama-cpp'
import { UnavailableError } from '../../core/errors.js'
import type { Logger } from '../../core/types.js'
import type { EngineOptions, EngineProfile } from './engine-types.js'

/** The CPU backend variant mapped into this process, or null when unknown. */
export function cpuVariant(): string | null {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8')
    const m = /libggml-cpu-([A-Za-z0-9_]+)\.so/.exec(maps)
    return m?.[1] ?? (maps.includes('libggml-cpu.so') ? 'native' : null)
  } catch {
    return null
  }
}

/** Start llama.cpp with the configured GPU choice; 503 `backend-unavailable` when it cannot. */
export async function startLlama(opts: Pick<EngineOptions, 'gpu'>, log: Logger): Promise<Llama> {
  try {
    return await getLlama({
      gpu: opts.gpu,
      build: 'never',
      skipDownload: true,
      progressLogs: false,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        const msg = message.trimEnd()
        if (msg === '') return
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) log.error({ llama: level }, msg)
        else log.warn({ llama: level }, msg)
      },
    })
  } catch (err) {
    throw new UnavailableError(`gpu-infer: cannot start llama.cpp with gpu=${String(opts.gpu)}: ${(err as Error).message}`, {
      code: 'backend-unavailable', cause: err,
    })
  }
}

/** llama.cpp rounds context sizes up to a multiple of 256; the profile states the real size. */
export const effectiveContextSize = (n: number) => Math.ceil(n / 256) * 256

export async function describeBackend(llama: Llama, opts: EngineOptions): Promise<EngineProfile> {
  const backend = llama.gpu === false ? 'cpu' : llama.gpu
  const names = backend === 'cpu' ? [] : await llama.getGpuDeviceNames().catch(() => [] as string[])
  return {
    backend,
    llamaCppBuild: `${llama.llamaCppRelease.repo}@${llama.llamaCppRelease.release}`,
    binary: llama.buildType,
    nodeLlamaCpp: await getModuleVersion(),
    cpuVariant: cpuVariant(),
    gpu: names.length > 0 ? names.join(', ') : null,
    gpuLayers: backend === 'cpu' ? 0 : opts.gpuLayers ?? 'max',
    threads: opts.threads,
    batchSize: opts.batchSize,
    contextSize: effectiveContextSize(opts.contextSize),
    flashAttention: opts.flashAttention,
    sequencesPerContext: 1,
  }
}

/** Most lanes per model: each holds a context's worth of KV cache. */
export const MAX_PARALLEL = 8

/** Reject engine options that would hang or crawl instead of failing clearly. */
export function checkEngineOptions(opts: EngineOptions): void {
  const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0
  const problems: string[] = []
  if (!['auto', 'cuda', 'vulkan', 'metal', false].includes(opts.gpu)) problems.push('gpu must be auto, cuda, vulkan, metal or false')
  if (!posInt(opts.threads)) problems.push('threads must be a positive integer (set it: the default is pathological on small hosts)')
  if (!posInt(opts.batchSize)) problems.push('batchSize must be a positive integer')
  if (!posInt(opts.contextSize)) problems.push('contextSize must be a positive integer')
  if (typeof opts.flashAttention !== 'boolean') problems.push('flashAttention must be a boolean')
  if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0) problems.push('maxQueue must be an integer >= 0')
  if (opts.parallel !== undefined && !(Number.isInteger(opts.parallel) && opts.parallel >= 1 && opts.parallel <= MAX_PARALLEL)) {
    problems.push(`parallel must be an integer from 1 to ${MAX_PARALLEL}`)
  }
  if (opts.parallelMode !== undefined && !['auto', 'batch', 'solo'].includes(opts.parallelMode)) problems.push('parallelMode must be auto, batch or solo')
  if (opts.parallel !== undefined && opts.parallel > opts.batchSize) problems.push('parallel must not exceed batchSize')
  if (opts.gpuLayers !== undefined && opts.gpuLayers !== 'max' && !(Number.isInteger(opts.gpuLayers) && opts.gpuLayers >= 0)) {
    problems.push("gpuLayers must be 'max' or an integer >= 0")
  }
  if (problems.length > 0) throw new TypeError(`gpu-infer engine options: ${problems.join('; ')}`)
}
