/**
 * @module
 * The `hashbeam` command line. Each command is a small function; `main` picks one.
 *
 *     hashbeam serve [--port 8734] [--host 127.0.0.1] [--data ./.hashbeam] [--store lmdb|memory|fs|redis://…]
 *                    [--device ./my-device.js …] [--wallet ./wallet.json]
 *     hashbeam verify <hashpath> [--data …] [--store …]
 *
 * Exit codes: 0 success, 1 verification failed or runtime error, 2 bad usage.
 */
import { resolve } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { isAoError } from '../core/errors.js'
import { verifyHashpath } from '../core/verify.js'
import { openStore } from '../devices/store/open.js'
import { defaultConfig, parseGpu, parsePort, parsePositive, type NodeConfig } from './config.js'
import { DEMO_MODEL_NAME, parseModelFlags } from './models.js'
import { writeGguf, type GgufSize } from '../devices/gpu-infer/gguf.js'
import { buildInfo, createNode, type HashbeamNode } from './index.js'
import { createReadStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { replayHashpath } from '../core/replay.js'
import { packageRoot } from './package-root.js'
import { readFile } from 'node:fs/promises'
import { isMessage } from '../core/message.js'
import type { Message } from '../core/types.js'
import { verifyFaultProof } from '../devices/replay/fault.js'
import { fromJson, toJson } from './json.js'
import { measureCommand } from '../devices/attest/index.js'
import { createEngine } from '../devices/gpu-infer/engine.js'
import { exportChain, importChain } from '../devices/replay/car.js'
import { createLogger } from './log.js'
import { closeOnSignals, listen } from './server.js'
import { keygenCommand, parseWalletKind } from './keygen.js'

const USAGE = `usage: hashbeam <command> [options]

commands:
  serve                 run the node (default port 8734, embedded LMDB store in ./.hashbeam)
  verify <hashpath>     check a hashpath against the store: every link recomputed, every message re-hashed
  replay <hashpath>     re-execute every step with this node's devices and compare result IDs
  export <hashpath> --out FILE.car    write the chain as a CAR file
  import FILE.car       check every block of a CAR against its hash, store the chain, verify it
  fault-proof RECEIPT.json --out PROOF.json   replay a signed receipt's step; a proof when it diverges on the same profile
  verify-fault PROOF.json [--reexecute]      check a fault proof without trusting either node
  measure [--json]      the software measurement attest@1.0 reports, with its parts
  model gen             write a generated GGUF model: --size tiny|medium --out FILE [--seed N] [--no-chat-template]
  keygen                create a wallet: [--out FILE] [--kind rsa|ed25519]; prints its address
  help                  this text

serve options:
  --port N              TCP port (env HASHBEAM_PORT; 0 picks a free one)
  --host ADDR           address to bind (env HASHBEAM_HOST; default 127.0.0.1)
  --data DIR            data directory (env HASHBEAM_DATA; default ./.hashbeam)
  --store KIND          lmdb (default) | memory | fs | redis://host:port/db (env HASHBEAM_STORE)
  --device PATH         load a custom device module (repeatable)
  --wallet PATH         node wallet (default DATA/wallet.json, created on first start)
  --wallet-kind KIND    rsa (default, RSA-4096 Arweave keyfile) | ed25519: the kind created on first start
  --operator ADDRESS    who may change settings with a signed POST /~meta@1.0/info
                        (env HASHBEAM_OPERATOR; default the node's own address)

store options (store@1.0):
  --max-blob-bytes N    largest blob a put accepts (default 8 GiB; 413 beyond)
  --store-open          let anyone delete from the store (default: only operator-signed requests)

inference options (gpu-infer@1.0):
  --model NAME=PATH     serve a GGUF model under NAME (repeatable); none → a generated demo model
  --models-dir DIR      serve every *.gguf in DIR, named after the file
  --preload             load models at start instead of on first use
  --gpu MODE            auto (default) | cuda | vulkan | metal | off   (env HASHBEAM_GPU)
  --threads N           llama.cpp threads (default: cores − 1; env HASHBEAM_THREADS)
  --context-size N      tokens per context (default 2048)
  --batch-size N        prompt batch size (default 512)
  --flash-attention     enable flash attention (changes numerics; recorded in the profile)
  --max-queue N         requests waiting per model before 503 (default 8)
  --max-tokens-cap N    largest max-tokens a request may ask for (default 2048)
  --no-demo-model       do not generate the demo model when no model is configured

attestation options (attest@1.0):
  --receipts MODE       on-request (default: with attest=true) | always — signed inference receipts
  --trusted-measurement HEX   a software measurement verify trusts (repeatable)
`

const COMMON = {
  data: { type: 'string' },
  store: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const SERVE = {
  ...COMMON,
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  device: { type: 'string', multiple: true },
  wallet: { type: 'string' },
  'wallet-kind': { type: 'string' },
  operator: { type: 'string' },
  'max-blob-bytes': { type: 'string' },
  'store-open': { type: 'boolean' },
  model: { type: 'string', multiple: true },
  'models-dir': { type: 'string' },
  preload: { type: 'boolean' },
  gpu: { type: 'string' },
  threads: { type: 'string' },
  'context-size': { type: 'string' },
  'batch-size': { type: 'string' },
  'flash-attention': { type: 'boolean' },
  'max-queue': { type: 'string' },
  'max-tokens-cap': { type: 'string' },
  'no-demo-model': { type: 'boolean' },
  receipts: { type: 'string' },
  'trusted-measurement': { type: 'string', multiple: true },
} as const satisfies ParseArgsConfig['options']

class UsageError extends Error {}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>

/** Applies command-line values over the environment-derived defaults. */
export function configFrom(values: Values, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const base = defaultConfig(env)
  const str = (key: string) => (typeof values[key] === 'string' ? (values[key] as string) : undefined)
  const port = str('port')
  const int = (key: string) => (str(key) === undefined ? undefined : parsePositive(`--${key}`, str(key) as string))
  return {
    ...base,
    port: port === undefined ? base.port : parsePort(port),
    host: str('host') ?? base.host,
    dataDir: resolve(str('data') ?? base.dataDir),
    store: str('store') ?? base.store,
    devicePaths: ((values.device as string[] | undefined) ?? []).slice(),
    models: { ...base.models, ...parseModelFlags((values.model as string[] | undefined) ?? []) },
    modelsDir: str('models-dir') === undefined ? base.modelsDir : resolve(str('models-dir') as string),
    preload: values.preload === true || base.preload,
    gpu: str('gpu') === undefined ? base.gpu : parseGpu(str('gpu') as string),
    threads: int('threads') ?? base.threads,
    contextSize: int('context-size') ?? base.contextSize,
    batchSize: int('batch-size') ?? base.batchSize,
    flashAttention: values['flash-attention'] === true || base.flashAttention,
    maxQueue: int('max-queue') ?? base.maxQueue,
    maxTokensCap: int('max-tokens-cap') ?? base.maxTokensCap,
    demoModel: values['no-demo-model'] !== true && base.demoModel,
    receipts: receiptsMode(str('receipts') ?? base.receipts),
    trustedMeasurements: [...base.trustedMeasurements, ...((values['trusted-measurement'] as string[] | undefined) ?? [])],
    operator: str('operator') ?? base.operator,
    maxBlobBytes: int('max-blob-bytes') ?? base.maxBlobBytes,
    storeOpen: values['store-open'] === true || base.storeOpen,
    ...(str('wallet-kind') === undefined ? {} : { walletKind: parseWalletKind(str('wallet-kind')!) }),
  }
}

async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: SERVE, allowPositionals: false })
  if (values.help === true) return usage(0)
  const config = configFrom(values)
  const node = await createNode(config, {
    ...(typeof values.wallet === 'string' ? { walletPath: values.wallet } : {}),
    ...(process.stderr.isTTY ? { onModelProgress: progressBar } : {}),
  })
  const server = await listen(node)
  process.stderr.write(banner(server.url, node.address, config, node.models))
  closeOnSignals(server, () => process.exit(0))
  return new Promise<number>(() => undefined)
}

/** A one-line progress bar on the terminal (log lines are written when not on a TTY). */
function progressBar(model: string, fraction: number): void {
  const width = 30
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width)
  process.stderr.write(`\r  loading ${model} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${Math.round(fraction * 100)}%${fraction >= 1 ? '\n' : ''}`)
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

async function verifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: COMMON, allowPositionals: true })
  if (values.help === true) return usage(0)
  const hashpath = positionals[0]
  if (hashpath === undefined || positionals.length > 1) throw new UsageError('verify takes exactly one hashpath')
  const config = configFrom(values)
  const store = await openStore(config.store, { dataDir: config.dataDir, log: createLogger({ fd: 2, level: 'warn' }) })
  try {
    const report = await verifyHashpath(store, hashpath)
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    return report.valid ? 0 : 1
  } finally {
    await store.close()
  }
}

function usage(code: number): number {
  ;(code === 0 ? process.stdout : process.stderr).write(USAGE)
  return code
}

const MODEL_GEN = {
  size: { type: 'string', default: 'tiny' },
  out: { type: 'string' },
  seed: { type: 'string', default: '1' },
  'chat-template': { type: 'boolean', default: true },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

/** `hashbeam model gen --size tiny|medium --out file.gguf [--seed N] [--no-chat-template]` */
async function modelCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'gen') throw new UsageError('model takes a subcommand: gen')
  const { values } = parseArgs({ args: rest, options: MODEL_GEN, allowNegative: true })
  if (values.help === true) return usage(0)
  if (values.out === undefined) throw new UsageError('model gen needs --out <file.gguf>')
  if (values.size !== 'tiny' && values.size !== 'medium') throw new UsageError('--size is tiny or medium')
  const seed = Number(values.seed)
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UsageError('--seed is an integer from 0 to 4294967295')
  const bytes = await writeGguf(resolve(values.out), { size: values.size as GgufSize, seed, chatTemplate: values['chat-template'] })
  process.stdout.write(`${resolve(values.out)} (${bytes} bytes, ${values.size}, seed ${values.seed})\n`)
  return 0
}

const CHAIN = {
  ...SERVE,
  out: { type: 'string', short: 'o' },
} as const satisfies ParseArgsConfig['options']

/** A node without HTTP, for commands that re-execute or move chains; closed after `use`. */
async function withNode<T>(values: Values, use: (node: HashbeamNode) => Promise<T>): Promise<T> {
  const node = await createNode(configFrom(values), {
    log: createLogger({ fd: 2, level: process.env.HASHBEAM_LOG_LEVEL ?? 'warn' }),
    ...(typeof values.wallet === 'string' ? { walletPath: values.wallet } : {}),
  })
  try {
    await node.start()
    return await use(node)
  } finally {
    await node.stop()
  }
}

/** `hashbeam replay <hashpath>`: re-execute and compare; exit 1 on any divergence. */
async function replayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CHAIN, allowPositionals: true })
  if (positionals.length !== 1) throw new UsageError('replay takes exactly one hashpath')
  const report = await withNode(values, (node) => replayHashpath(node.resolver, positionals[0]!))
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  return report.divergent === 0 && report.ledger === undefined ? 0 : 1
}

/** `hashbeam export <hashpath> --out chain.car` */
async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CHAIN, allowPositionals: true })
  if (positionals.length !== 1 || values.out === undefined) throw new UsageError('export takes one hashpath and --out FILE.car')
  const bytes = await withNode(values, (node) => exportChain(node.resolver, positionals[0]!))
  await writeFile(resolve(values.out), bytes)
  process.stdout.write(`${resolve(values.out)} (${bytes.byteLength} bytes)\n`)
  return 0
}

/** `hashbeam import chain.car`: every block checked against its hash, then the chain verified. */
async function importCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: COMMON, allowPositionals: true })
  if (positionals.length !== 1) throw new UsageError('import takes exactly one CAR file')
  const config = configFrom(values)
  const store = await openStore(config.store, { dataDir: config.dataDir, log: createLogger({ fd: 2, level: 'warn' }) })
  try {
    const imported = await importChain(store, createReadStream(resolve(positionals[0]!)))
    const verify = await verifyHashpath(store, imported.hashpath)
    process.stdout.write(`${JSON.stringify({ ...imported, verify }, null, 2)}\n`)
    return verify.valid ? 0 : 1
  } finally {
    await store.close()
  }
}

function receiptsMode(text: string): NodeConfig['receipts'] {
  if (text === 'always' || text === 'on-request') return text
  throw new UsageError('--receipts is on-request or always')
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

/** A JSON document from a file, as a message. */
async function readDocument(file: string): Promise<Message> {
  const value = fromJson(JSON.parse(await readFile(resolve(file), 'utf8')) as unknown, file)
  if (!isMessage(value)) throw new UsageError(`${file} does not hold a JSON object`)
  return value
}

/** `hashbeam fault-proof receipt.json --out proof.json`: replay a receipt's step; a proof if it diverges. */
async function faultProofCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CHAIN, allowPositionals: true })
  if (positionals.length !== 1 || values.out === undefined) throw new UsageError('fault-proof takes one receipt file and --out FILE.json')
  const receipt = await readDocument(positionals[0] as string)
  const proof = await withNode(values, (node) => node.resolver.resolve('/~replay@1.0/fault-proof', { global: { document: receipt }, scoped: new Map() }))
  await writeFile(resolve(values.out), JSON.stringify(toJson(proof.value), null, 2))
  process.stdout.write(`${resolve(values.out)}: the step does not reproduce the signed result on the same profile\n`)
  return 0
}

/** `hashbeam verify-fault proof.json [--reexecute]`: check a fault proof without trusting either node. */
async function verifyFaultCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { ...SERVE, reexecute: { type: 'boolean' } }, allowPositionals: true })
  if (positionals.length !== 1) throw new UsageError('verify-fault takes one proof file')
  const proof = await readDocument(positionals[0] as string)
  const verdict = values.reexecute === true
    ? await withNode(values, (node) => verifyFaultProof(proof, node.resolver))
    : await verifyFaultProof(proof)
  process.stdout.write(`${JSON.stringify(verdict, null, 2)}\n`)
  return verdict.valid ? 0 : 1
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  'fault-proof': faultProofCommand,
  'verify-fault': verifyFaultCommand,
  measure: measureCommandMain,
  serve: serveCommand,
  verify: verifyCommand,
  replay: replayCommand,
  export: exportCommand,
  import: importCommand,
  keygen: keygenCommand,
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
    if (isAoError(err)) {
      process.stderr.write(`hashbeam: ${err.message} [${err.code}]\n`)
      return err.status < 500 ? 2 : 1
    }
    throw err
  }
}
