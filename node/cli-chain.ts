/**
 * @module
 * The commands that check and move chains: verify, replay, export, import, fault-proof,
 * verify-fault. Exit codes: 0 success, 1 the check failed, 2 bad usage.
 */
import { createReadStream } from 'node:fs'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseArgs } from './cli-args.js'
import { isMessage } from '../core/message.js'
import { replayHashpath } from '../core/replay.js'
import type { Message } from '../core/types.js'
import { verifyHashpath } from '../core/verify.js'
import { exportChain, importChain, verifyFaultProof } from '../devices/replay/index.js'
import { commitMessage } from '../devices/message/index.js'
import { openStore } from '../devices/store/index.js'
import { CHAIN, COMMON, SERVE, UsageError, configFrom, withNode } from './cli-options.js'
import { usage } from './cli-usage.js'
import { fromJson, toJson } from '../core/json.js'
import { countingStepReads } from './instrument.js'
import { createLogger } from './log.js'
import { megabytes, progress, type Progress } from './progress.js'

export async function verifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: COMMON, allowPositionals: true })
  if (values.help === true) return usage(0)
  const hashpath = positionals[0]
  if (hashpath === undefined || positionals.length > 1) throw new UsageError('verify takes exactly one hashpath')
  const config = configFrom(values)
  const bar = progress('verify', { format: (n) => `${n.toLocaleString('en')} step records read` })
  const store = countingStepReads(await openStore(config.store, { dataDir: config.dataDir, log: createLogger({ fd: 2, level: 'warn' }) }), (n) => bar.update(n))
  try {
    const report = await verifyHashpath(store, hashpath)
    bar.finish(report.valid ? 'valid' : 'INVALID')
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
    return report.valid ? 0 : 1
  } finally {
    await store.close()
  }
}

/**
 * `hashbeam replay <hashpath>…`: re-execute and compare; exit 1 on any divergence. One hashpath
 * prints its report; several (one node start, models loaded once) print the list of reports.
 */
export async function replayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CHAIN, allowPositionals: true })
  if (positionals.length === 0) throw new UsageError('replay takes one or more hashpaths')
  const reports = await withNode(values, async (node) => {
    const out = []
    for (const hashpath of positionals) out.push(await replayHashpath(node.resolver, hashpath))
    return out
  }, 'replay')
  process.stdout.write(`${JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2)}\n`)
  return reports.every((r) => r.divergent === 0 && r.ledger === undefined) ? 0 : 1
}

/** `hashbeam export <hashpath> --out chain.car` */
export async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CHAIN, allowPositionals: true })
  if (positionals.length !== 1 || values.out === undefined) throw new UsageError('export takes one hashpath and --out FILE.car')
  const bytes = await withNode(values, (node) =>
    exportChain(node.resolver, positionals[0]!, { address: node.address, sign: (manifest) => commitMessage(manifest, node.wallet, 'export') }), 'export')
  await writeFile(resolve(values.out), bytes)
  process.stdout.write(`${resolve(values.out)} (${bytes.byteLength} bytes)\n`)
  return 0
}

/**
 * `hashbeam import chain.car`: every block, the record seals, the export signature and the chain
 * checked before anything is written (devices/replay/import.ts). Run by whoever holds the data
 * directory, so no operator signature is asked for.
 */
export async function importCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: COMMON, allowPositionals: true })
  if (positionals.length !== 1) throw new UsageError('import takes exactly one CAR file')
  const config = configFrom(values)
  const store = await openStore(config.store, { dataDir: config.dataDir, log: createLogger({ fd: 2, level: 'warn' }) })
  try {
    const file = resolve(positionals[0]!)
    const imported = await importChain(store, withProgress(createReadStream(file), (await stat(file)).size, progress('import', { format: megabytes })))
    const verify = await verifyHashpath(store, imported.hashpath)
    process.stdout.write(`${JSON.stringify({ ...imported, verify }, null, 2)}\n`)
    return verify.valid ? 0 : 1
  } finally {
    await store.close()
  }
}

/** The chunks of `source`, reported to `bar` as bytes of `total` as they pass. */
async function* withProgress(source: AsyncIterable<Uint8Array>, total: number, bar: Progress): AsyncIterable<Uint8Array> {
  let bytes = 0
  for await (const chunk of source) {
    bytes += chunk.length
    bar.update(bytes, total)
    yield chunk
  }
  bar.finish()
}

/** A JSON document from a file, as a message. */
async function readDocument(file: string): Promise<Message> {
  const value = fromJson(JSON.parse(await readFile(resolve(file), 'utf8')) as unknown, file)
  if (!isMessage(value)) throw new UsageError(`${file} does not hold a JSON object`)
  return value
}

/** `hashbeam fault-proof receipt.json --out proof.json`: replay a receipt's step; a proof if it diverges. */
export async function faultProofCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: CHAIN, allowPositionals: true })
  if (positionals.length !== 1 || values.out === undefined) throw new UsageError('fault-proof takes one receipt file and --out FILE.json')
  const receipt = await readDocument(positionals[0] as string)
  const proof = await withNode(values, (node) => node.resolver.resolve('/~replay@1.0/fault-proof', { global: { document: receipt }, scoped: new Map() }))
  await writeFile(resolve(values.out), JSON.stringify(toJson(proof.value), null, 2))
  process.stdout.write(`${resolve(values.out)}: the step does not reproduce the signed result on the same profile\n`)
  return 0
}

/** `hashbeam verify-fault proof.json [--reexecute]`: check a fault proof without trusting either node. */
export async function verifyFaultCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { ...SERVE, reexecute: { type: 'boolean' } }, allowPositionals: true })
  if (positionals.length !== 1) throw new UsageError('verify-fault takes one proof file')
  const proof = await readDocument(positionals[0] as string)
  const verdict = values.reexecute === true
    ? await withNode(values, (node) => verifyFaultProof(proof, node.resolver))
    : await verifyFaultProof(proof)
  process.stdout.write(`${JSON.stringify(verdict, null, 2)}\n`)
  return verdict.valid ? 0 : 1
}

