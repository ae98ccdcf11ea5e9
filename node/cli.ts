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
import { defaultConfig, parsePort, type NodeConfig } from './config.js'
import { buildInfo, createNode } from './index.js'
import { createLogger } from './log.js'
import { closeOnSignals, listen } from './server.js'

const USAGE = `usage: hashbeam <command> [options]

commands:
  serve                 run the node (default port 8734, embedded LMDB store in ./.hashbeam)
  verify <hashpath>     check a hashpath against the store: every link recomputed, every message re-hashed
  help                  this text

serve options:
  --port N              TCP port (env HASHBEAM_PORT; 0 picks a free one)
  --host ADDR           address to bind (env HASHBEAM_HOST; default 127.0.0.1)
  --data DIR            data directory (env HASHBEAM_DATA; default ./.hashbeam)
  --store KIND          lmdb (default) | memory | fs | redis://host:port/db (env HASHBEAM_STORE)
  --device PATH         load a custom device module (repeatable)
  --wallet PATH         node wallet (default DATA/wallet.json, created on first start)
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
} as const satisfies ParseArgsConfig['options']

class UsageError extends Error {}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>

/** Applies command-line values over the environment-derived defaults. */
export function configFrom(values: Values, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const base = defaultConfig(env)
  const str = (key: string) => (typeof values[key] === 'string' ? (values[key] as string) : undefined)
  const port = str('port')
  return {
    ...base,
    port: port === undefined ? base.port : parsePort(port),
    host: str('host') ?? base.host,
    dataDir: resolve(str('data') ?? base.dataDir),
    store: str('store') ?? base.store,
    devicePaths: ((values.device as string[] | undefined) ?? []).slice(),
  }
}

async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: SERVE, allowPositionals: false })
  if (values.help === true) return usage(0)
  const config = configFrom(values)
  const node = await createNode(config, typeof values.wallet === 'string' ? { walletPath: values.wallet } : {})
  const server = await listen(node)
  process.stderr.write(banner(server.url, node.address, config))
  closeOnSignals(server, () => process.exit(0))
  return new Promise<number>(() => undefined)
}

function banner(url: string, address: string, config: NodeConfig): string {
  return [
    `hashbeam ${String(buildInfo().version)} listening on ${url}`,
    `  address ${address}   store ${config.store} in ${config.dataDir}`,
    '  try:',
    `    curl '${url}/~message@1.0&hello=world/hello'`,
    `    curl '${url}/~message@1.0&a+integer=41/a'`,
    `    curl '${url}/~meta@1.0/info'`,
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

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  serve: serveCommand,
  verify: verifyCommand,
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
