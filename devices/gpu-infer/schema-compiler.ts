/**
 * @module
 * JSON schema → llama.cpp grammar, off the event loop.
 *
 * node-llama-cpp turns a schema into GBNF with synchronous JavaScript (about 1 ms per KiB of
 * schema, more for big enums) and then llama.cpp parses the grammar, also synchronously. Left on
 * the event loop, one large schema stalled every other request for seconds. Here:
 * - the schema is bounded first (engine-schema.ts: size, sub-schemas, enum values), so nothing
 *   past the limits is ever compiled;
 * - the GBNF text is produced in one worker thread, with node-llama-cpp's own converter (so the
 *   grammar is byte for byte what `llama.createGrammarForJsonSchema` makes: same sampling, same
 *   results); a compile that outlives LIMITS.schemaCompileTimeoutMs is refused and the worker
 *   replaced;
 * - only a grammar of at most LIMITS.maxGrammarBytes reaches llama.cpp's parser (~40 µs per KiB
 *   on the loop).
 * Output is still validated after generation, with node-llama-cpp's validator for the schema.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Llama, LlamaGrammar } from 'node-llama-cpp'
import { InvalidRequestError, UnavailableError } from '../../core/errors.js'
import { LIMITS } from './constants.js'
import { tightenNumberRules, tooComplex } from './engine-schema.js'

export interface JsonGrammar {
  /** Parses a finished output and validates it against the schema (throws when it does not). */
  readonly check: { parse(json: string): unknown }
  /** The grammar generation samples with. */
  readonly sample: LlamaGrammar
}

// node-llama-cpp 3.21 exports neither the converter nor the validator; both are plain modules of
// its dist/ (the version is pinned, and a missing file fails loudly at the first schema).
const LLAMA_DIST = dirname(createRequire(import.meta.url).resolve('node-llama-cpp'))
const moduleUrl = (relative: string) => pathToFileURL(join(LLAMA_DIST, relative)).href
const CONVERTER_URL = moduleUrl('utils/gbnfJson/getGbnfGrammarForGbnfJsonSchema.js')
const VALIDATOR_URL = moduleUrl('utils/gbnfJson/utils/validateObjectAgainstGbnfSchema.js')

/** Jobs allowed to wait for the worker; beyond → 503 (compiles take milliseconds each). */
const MAX_WAITING = 64

// The worker's whole program: a CommonJS script (eval) that loads the converter and answers.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
import(workerData.converter).then(({ getGbnfGrammarForGbnfJsonSchema }) => {
  parentPort.on('message', ({ id, schema }) => {
    try {
      parentPort.postMessage({ id, grammar: getGbnfGrammarForGbnfJsonSchema(schema) })
    } catch (err) {
      parentPort.postMessage({ id, error: String((err && err.message) || err) })
    }
  })
})
`

interface Job {
  readonly id: number
  readonly schema: unknown
  done(result: { grammar?: string; error?: string }): void
}

/** One lazily started worker, one compile at a time, each under a time limit. */
function createCompiler() {
  let worker: Worker | undefined
  let current: { job: Job; timer: NodeJS.Timeout } | undefined
  const waiting: Job[] = []
  let nextId = 0

  const start = (): Worker => {
    const w = new Worker(WORKER_SOURCE, {
      eval: true, workerData: { converter: CONVERTER_URL }, resourceLimits: { maxOldGenerationSizeMb: 256 },
    })
    w.on('message', (msg: { id: number; grammar?: string; error?: string }) => {
      if (current?.job.id !== msg.id) return
      finish(msg)
    })
    // A crash (out of memory included) fails the job in hand; the next job starts a new worker.
    w.on('error', (err) => { if (worker === w) finish({ error: `the compiler failed: ${err.message}` }, true) })
    w.on('exit', () => { if (worker === w) finish({ error: 'the compiler stopped' }, true) })
    // Idle, it never keeps the process alive (a `message` listener refs the worker again, so
    // this comes after them); a compile in progress does (pump), or a CLI could exit mid-job.
    w.unref()
    return w
  }

  const finish = (result: { grammar?: string; error?: string }, replace = false) => {
    if (replace) {
      const w = worker
      worker = undefined
      void w?.terminate()
    }
    const running = current
    current = undefined
    if (running !== undefined) {
      clearTimeout(running.timer)
      running.job.done(result)
    }
    pump()
    if (current === undefined) worker?.unref()
  }

  const pump = () => {
    if (current !== undefined) return
    const job = waiting.shift()
    if (job === undefined) return
    worker ??= start()
    worker.ref()
    const timer = setTimeout(() => finish({ error: 'timeout' }, true), LIMITS.schemaCompileTimeoutMs)
    timer.unref()
    current = { job, timer }
    worker.postMessage({ id: job.id, schema: job.schema })
  }

  return {
    toGbnf(schema: unknown): Promise<string> {
      if (waiting.length >= MAX_WAITING) {
        return Promise.reject(new UnavailableError('gpu-infer: too many json-schemas are waiting to compile', { code: 'schema-compiler-busy', retryAfterSeconds: 1 }))
      }
      return new Promise((resolve, reject) => {
        waiting.push({
          id: nextId++, schema,
          done: ({ grammar, error }) => {
            if (grammar !== undefined) return resolve(grammar)
            if (error === 'timeout') return reject(tooComplex(`ms of compile time (${LIMITS.schemaCompileTimeoutMs})`, LIMITS.schemaCompileTimeoutMs))
            reject(new InvalidRequestError(`gpu-infer: json-schema cannot be compiled: ${error}`, { code: 'invalid-json-schema' }))
          },
        })
        pump()
      })
    },
  }
}

const compiler = createCompiler()
let validator: Promise<(value: unknown, schema: unknown) => unknown> | undefined

/** Compiles a bounded schema (engine-schema.ts `boundJsonSchema`) for sampling and checking. */
export async function compileJsonGrammar(llama: Llama, bounded: unknown): Promise<JsonGrammar> {
  const gbnf = await compiler.toGbnf(bounded)
  if (gbnf.length > LIMITS.maxGrammarBytes) throw tooComplex('bytes of compiled grammar', LIMITS.maxGrammarBytes)
  validator ??= import(VALIDATOR_URL).then((m: { validateObjectAgainstGbnfSchema: (v: unknown, s: unknown) => unknown }) => m.validateObjectAgainstGbnfSchema)
  const validate = await validator
  const sample = await llama.createGrammar({ grammar: tightenNumberRules(gbnf), trimWhitespaceSuffix: true })
  return {
    check: {
      parse(json: string) {
        const value: unknown = JSON.parse(json)
        validate(value, bounded)
        return value
      },
    },
    sample,
  }
}
