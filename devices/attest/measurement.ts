/**
 * @module
 * The software measurement: one sha256 that names what this node runs, made of four parts.
 *
 * - `code`: the built code when `dist/` exists (every file under `dist/` and `bin/`, plus
 *   `package.json`), else the source tree (`bin/ core/ devices/ node/` and `package.json`). Its
 *   hash is that of a `sha256sum` manifest — one `<hex>  <path>` line per regular file, paths
 *   relative to the root, sorted by bytes — so anyone can recompute it without this code:
 *       find dist bin package.json -type f | LC_ALL=C sort | xargs sha256sum | sha256sum
 *   Symbolic links are skipped, as `find -type f` skips them.
 * - `package-lock.json`: the lockfile bytes. node_modules is not hashed (too big to do at every
 *   start); the lockfile's integrity hashes pin every package tarball instead.
 * - `node`: the Node version string (`v20.19.0`).
 * - `llama-cpp`: the llama.cpp binary variant in use (backend, build, CPU kernel variant…),
 *   passed in by whoever loaded it; `none` when inference is not configured.
 *
 * The measurement is sha256 over `<part sha256>  <part name>\n` lines in that fixed order: again
 * a `sha256sum`-style manifest. It is computed once at start; changing any byte of the running
 * code, the lockfile, the runtime or the binary variant changes it.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { InternalError } from '../../core/errors.js'
import type { Message } from '../../core/types.js'
import { MEASURED_BUILD, MEASURED_SOURCE } from './constants.js'

/** The llama.cpp binary variant (the gpu-infer engine profile's fields). */
export interface LlamaCppVariant {
  backend?: string
  llamaCppBuild?: string
  cpuVariant?: string | null
  binary?: string
  nodeLlamaCpp?: string
}

export interface MeasureOptions {
  /** The installation root (holds package.json). */
  root: string
  /** `auto` (default): dist when it exists, else source. */
  code?: 'auto' | 'dist' | 'source'
  /** Defaults to `process.version`. */
  nodeVersion?: string
  /** The variant in use, or a ready-made description; absent = no inference. */
  llamaCpp?: LlamaCppVariant | string
}

export interface MeasurementPart {
  name: string
  sha256: string
  detail: string
}

export interface Measurement {
  measurement: string
  parts: MeasurementPart[]
  /** Which tree the `code` part hashed. */
  source: 'dist' | 'source'
}

const sha256hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex')

/** Measures an installation. Throws InternalError `measure-failed` without package.json or when a file cannot be read. */
export async function measure(opts: MeasureOptions): Promise<Measurement> {
  const root = path.resolve(opts.root)
  try {
    const pkg = await stat(path.join(root, 'package.json')).catch(() => undefined)
    if (pkg?.isFile() !== true) throw new InternalError(`attest: ${root} is not an installation (no package.json)`, { code: 'measure-failed' })
    const source = await codeSource(root, opts.code ?? 'auto')
    const entries = await listFiles(root, source === 'dist' ? MEASURED_BUILD : MEASURED_SOURCE)
    const code: MeasurementPart = {
      name: 'code', sha256: sha256hex(await manifest(root, entries)),
      detail: `${source === 'dist' ? 'built code: dist/, bin/, package.json' : 'source tree: bin/, core/, devices/, node/, package.json'} (${entries.length} files)`,
    }
    const lock = await readFile(path.join(root, 'package-lock.json')).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined
      throw err
    })
    const nodeVersion = opts.nodeVersion ?? process.version
    const llama = describeLlamaCpp(opts.llamaCpp)
    const parts: MeasurementPart[] = [
      code,
      { name: 'package-lock.json', sha256: sha256hex(lock ?? new Uint8Array()), detail: lock === undefined ? 'absent (hash of no bytes)' : `${lock.length} bytes` },
      { name: 'node', sha256: sha256hex(nodeVersion), detail: nodeVersion },
      { name: 'llama-cpp', sha256: sha256hex(llama), detail: llama },
    ]
    return { measurement: combineParts(parts), parts, source }
  } catch (cause) {
    if (cause instanceof InternalError) throw cause
    throw new InternalError(`attest: cannot measure ${root}: ${(cause as Error).message}`, { code: 'measure-failed', cause })
  }
}

/** The measurement of a list of parts, in their given order (code, lockfile, node, llama-cpp). */
export function combineParts(parts: readonly MeasurementPart[]): string {
  return sha256hex(parts.map((p) => `${p.sha256}  ${p.name}\n`).join(''))
}

/** One line per field, keys sorted: `backend=cuda build=b4567 cpu-variant=zen4`, or `none`. */
export function describeLlamaCpp(variant: LlamaCppVariant | string | undefined): string {
  if (variant === undefined) return 'none'
  if (typeof variant === 'string') return variant === '' ? 'none' : variant
  const fields: Record<string, string | null | undefined> = {
    backend: variant.backend, binary: variant.binary, build: variant.llamaCppBuild,
    'cpu-variant': variant.cpuVariant, 'node-llama-cpp': variant.nodeLlamaCpp,
  }
  const text = Object.keys(fields).sort()
    .filter((k) => fields[k] !== undefined && fields[k] !== null)
    .map((k) => `${k}=${fields[k]}`).join(' ')
  return text === '' ? 'none' : text
}

/** The measurement as a message (for the `measurement` key and inside reports). */
export function measurementMessage(m: Measurement): Message {
  return { measurement: m.measurement, source: m.source, parts: m.parts.map((p): Message => ({ ...p })) }
}

/** What `hashbeam measure` prints: the measurement, then one line per part; or JSON. */
export function measureCommandOutput(m: Measurement, opts: { json?: boolean } = {}): string {
  if (opts.json === true) return JSON.stringify(measurementMessage(m), null, 2) + '\n'
  const width = Math.max(...m.parts.map((p) => p.name.length))
  const lines = [`measurement  ${m.measurement}`, ...m.parts.map((p) => `  ${p.name.padEnd(width)}  ${p.sha256}  ${p.detail}`)]
  return lines.join('\n') + '\n'
}

/** Measures `root` and formats it: the one call the CLI's `measure` command needs. */
export async function measureCommand(opts: MeasureOptions & { json?: boolean }): Promise<string> {
  return measureCommandOutput(await measure(opts), { json: opts.json ?? false })
}

async function codeSource(root: string, wanted: 'auto' | 'dist' | 'source'): Promise<'dist' | 'source'> {
  if (wanted !== 'auto') return wanted
  const dist = await stat(path.join(root, 'dist')).catch(() => undefined)
  return dist?.isDirectory() === true ? 'dist' : 'source'
}

/** Regular files under the listed entries (files or directories), relative POSIX paths, byte-sorted. */
async function listFiles(root: string, entries: readonly string[]): Promise<string[]> {
  const out: string[] = []
  const walk = async (rel: string): Promise<void> => {
    const dirents = await readdir(path.join(root, rel), { withFileTypes: true })
    for (const d of dirents) {
      const child = `${rel}/${d.name}`
      if (d.isDirectory()) await walk(child)
      else if (d.isFile()) out.push(child)
    }
  }
  for (const entry of entries) {
    const info = await stat(path.join(root, entry)).catch(() => undefined)
    if (info === undefined) continue
    if (info.isDirectory()) await walk(entry)
    else if (info.isFile()) out.push(entry)
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

async function manifest(root: string, files: readonly string[]): Promise<string> {
  const lines: string[] = []
  for (const file of files) lines.push(`${sha256hex(await readFile(path.join(root, file)))}  ${file}\n`)
  return lines.join('')
}
