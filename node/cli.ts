/**
 * @module
 * The `hashbeam` command line. Each command is a small function; `main` picks one.
 *
 *     hashbeam serve [--port 8734] [--host 127.0.0.1] [--data ./.hashbeam] [--store lmdb|memory|fs|redis://…]
 *                    [--device ./my-device.js …] [--wallet ./wallet.json]
 *     hashbeam verify <hashpath> [--data …] [--store …]
 *     … (cli-usage.ts has them all; chain commands live in cli-chain.ts, options in cli-options.ts)
 *
 * Exit codes: 0 success, 1 verification failed or runtime error, 2 bad usage.
 */
import { resolve } from 'node:path'
import type { ParseArgsConfig } from 'node:util'
import { parseArgs } from './cli-args.js'
import { isAoError, isConfigError } from '../core/errors.js'
import { measureCommand } from '../devices/attest/index.js'
import { CHATML_TOOLS_TEMPLATE, createEngine, GGUF_QUANTS, writeGguf, type GgufQuant, type GgufSize } from '../devices/gpu-infer/index.js'
import { clusterCommand } from './cli-cluster.js'
import { configCommand } from './cli-config.js'
import { exportCommand, faultProofCommand, importCommand, replayCommand, verifyCommand, verifyFaultCommand } from './cli-chain.js'
import { SERVE, UsageError, configFrom } from './cli-options.js'
import { usage } from './cli-usage.js'
import type { NodeConfig } from './config.js'
import { buildInfo, createNode } from './index.js'
import { keygenCommand } from './keygen.js'
import { newCommand } from './scaffold.js'
import { createLogger } from './log.js'
import { DEMO_MODEL_NAME } from '../devices/gpu-infer/index.js'
import { packageRoot } from './package-root.js'
import { megabytes, progress, type Progress } from './progress.js'
import { closeOnSignals, listen } from './server.js'


async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: SERVE, allowPositionals: false })
  if (values.help === true) return usage(0)
  const config = configFrom(values)
  const node = await createNode(config, {
    ...(typeof values.wallet === 'string' ? { walletPath: values.wallet } : {}),
    onModelProgress: modelLoadProgress(),
  })
  const server = await listen(node)
  process.stderr.write(banner(server.url, node.address, config, node.models))
  closeOnSignals(server, () => process.exit(0))
  return new Promise<number>(() => undefined)
}

/** Model loads at start (`--preload`): a bar per model on a terminal, plain lines otherwise. */
function modelLoadProgress(): (model: string, fraction: number) => void {
  const bars = new Map<string, Progress>()
  return (model, fraction) => {
    let bar = bars.get(model)
    if (bar === undefined) bars.set(model, (bar = progress(`  loading ${model}`)))
    bar.update(fraction * 100, 100)
    if (fraction >= 1) {
      bar.finish()
      bars.delete(model)
    }
  }
}

function banner(url: string, address: string, config: NodeConfig, models: Readonly<Record<string, string>>): string {
  const names = Object.keys(models)
  const modelLine = names.length === 1 && names[0] === DEMO_MODEL_NAME && config.models[DEMO_MODEL_NAME] === undefined
    ? `  model "demo": a tiny generated model with random weights — its output is gibberish. Serve a real one with --model name=/path/to/model.gguf`
    : `  models ${names.length === 0 ? '(none)' : names.join(', ')}`
  const model = names[0] ?? DEMO_MODEL_NAME
  return [
    `hashbeam ${String(buildInfo().version)} listening on ${url}`,
    `  address ${address}   store ${config.store} in ${config.dataDir}`,
    modelLine,
    '  try:',
    `    curl '${url}/~message@1.0&hello=world/hello'`,
    `    curl '${url}/~message@1.0&a+integer=41/a'`,
    `    curl -H 'accept: application/json' '${url}/~meta@1.0/info'`,
    `    curl '${url}/~gpu-infer@1.0/run&model=${model}&prompt=hello&max-tokens+integer=16'`,
    `    curl ${url}/~gpu-infer@1.0/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${model}","messages":[{"role":"user","content":"hi"}],"max_tokens":16}'`,
    `    hashbeam verify <the hashpath header of any answer> --data ${config.dataDir}`,
    '',
  ].join('\n')
}


const MODEL_GEN = {
  size: { type: 'string', default: 'tiny' },
  out: { type: 'string' },
  seed: { type: 'string', default: '1' },
  quant: { type: 'string' },
  'chat-template': { type: 'boolean', default: true },
  'tools-template': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

/** `hashbeam model gen --size tiny|medium|large --out file.gguf [--quant f16|q8_0|q4_0|q4_k] [--seed N] [--no-chat-template | --tools-template]` */
async function modelCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'gen') throw new UsageError('model takes a subcommand: gen')
  const { values } = parseArgs({ args: rest, options: MODEL_GEN, allowNegative: true })
  if (values.help === true) return usage(0)
  if (values.out === undefined) throw new UsageError('model gen needs --out <file.gguf>')
  if (values.size !== 'tiny' && values.size !== 'medium' && values.size !== 'large') throw new UsageError('--size is tiny, medium or large')
  const quant = values.quant as GgufQuant | undefined
  if (quant !== undefined && !GGUF_QUANTS.includes(quant)) throw new UsageError(`--quant is one of ${GGUF_QUANTS.join(', ')}`)
  const seed = Number(values.seed)
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError('--seed is an integer from 0 to 4294967295')
  const bar = progress(`model gen ${values.size}`, { format: megabytes })
  const bytes = await writeGguf(resolve(values.out), { size: values.size as GgufSize, seed, chatTemplate: values['tools-template'] === true ? CHATML_TOOLS_TEMPLATE : values['chat-template'], ...(quant === undefined ? {} : { quant }) }, (n) => bar.update(n))
  bar.finish()
  process.stdout.write(`${resolve(values.out)} (${bytes} bytes, ${values.size}${quant === undefined ? '' : ` ${quant}`}, seed ${values.seed})\n`)
  return 0
}

/** `hashbeam measure [--json]`: the software measurement attest@1.0 reports, with its parts. */
async function measureCommandMain(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...SERVE, json: { type: 'boolean' } } })
  const config = configFrom(values)
  const engine = createEngine({ gpu: config.gpu, threads: config.threads, batchSize: config.batchSize, contextSize: config.contextSize,
    flashAttention: config.flashAttention, maxQueue: 1, log: createLogger({ fd: 2, level: 'warn' }) })
  try {
    process.stdout.write(`${await measureCommand({ root: packageRoot(), llamaCpp: await engine.init(), json: values.json === true })}\n`)
    return 0
  } finally {
    await engine.close()
  }
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  cluster: clusterCommand,
  config: configCommand,
  'fault-proof': faultProofCommand,
  'verify-fault': verifyFaultCommand,
  measure: measureCommandMain,
  serve: serveCommand,
  verify: verifyCommand,
  replay: replayCommand,
  export: exportCommand,
  import: importCommand,
  keygen: keygenCommand,
  new: newCommand,
  model: modelCommand,
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv
  if (command === 'help' || command === '--help' || command === '-h') return usage(0)
  if (command === '--version' || command === 'version') {
    process.stdout.write(`${String(buildInfo().version)}\n`)
    return 0
  }
  const run = COMMANDS[command]
  if (run === undefined) {
    process.stderr.write(`hashbeam: unknown command "${command}"\n\n`)
    return usage(2)
  }
  try {
    return await run(rest)
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`hashbeam: ${(err as Error).message}\n\n`)
      return usage(2)
    }
    if (isConfigError(err)) {
      process.stderr.write(`hashbeam: ${err.message} [${err.code}]\n`)
      return 2
    }
    if (isAoError(err)) {
      process.stderr.write(`hashbeam: ${err.message} [${err.code}]\n`)
      return err.status < 500 ? 2 : 1
    }
    throw err
  }
}
