/**
 * Shared setup for the gpu-infer tests: models generated into a fresh temp dir (never
 * committed), and engine options sized for a 2-core CI box (threads 1: more threads make
 * single-token decode far slower there; see research/llama.md §7).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeGguf, type GgufOptions } from '../../../devices/gpu-infer/gguf.js'
import { createEngine, type Engine, type EngineOptions } from '../../../devices/gpu-infer/engine.js'
import { memoryLogger } from '../../helpers/log.js'

export interface ModelDir {
  dir: string
  /** Write a generated model as `<name>.gguf`; returns its path. */
  make(name: string, opts: GgufOptions): Promise<string>
  cleanup(): Promise<void>
}

export async function modelDir(): Promise<ModelDir> {
  const dir = await mkdtemp(join(tmpdir(), 'hashbeam-gpu-infer-'))
  return {
    dir,
    async make(name, opts) {
      const path = join(dir, `${name}.gguf`)
      await writeGguf(path, opts)
      return path
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}

/** Engine options for tests; override what a test is about. */
export function testEngine(over: Partial<EngineOptions> = {}): Engine & { log: ReturnType<typeof memoryLogger> } {
  const log = memoryLogger()
  const engine = createEngine({
    gpu: false, threads: 1, batchSize: 256, contextSize: 512, flashAttention: false, maxQueue: 4, log, ...over,
  })
  return Object.assign(engine, { log })
}

/** Expect `p` to reject with an AoError of this status and code. */
export async function rejection(p: Promise<unknown>): Promise<{ status: number; code: string; retryAfterSeconds?: number }> {
  try {
    await p
  } catch (err) {
    return err as { status: number; code: string }
  }
  throw new Error('expected a rejection')
}
