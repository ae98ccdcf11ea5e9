/**
 * @module
 * The node's runtime settings: the few public, known-safe keys its operator may change over
 * HTTP (`POST /~meta@1.0/info`, signed by the operator; see devices/meta).
 *
 * | key            | value                                   | effect                               |
 * | -------------- | --------------------------------------- | ------------------------------------ |
 * | `operator`     | a 43-character address                  | who may change settings from now on  |
 * | `initialized`  | `permanent`, `true` or `false`          | `permanent` freezes every setting    |
 * | `name`         | text, up to 200 characters              | shown by meta@1.0/info               |
 * | `description`  | text, up to 2000 characters             | shown by meta@1.0/info               |
 * | `sign-replies` | boolean                                 | sign every httpsig reply (else only on `accept-signature`) |
 * | `trust`        | addresses: a list, or text split on commas/blanks | whose ledger records answer (beside the node's own) |
 *
 * None of them reaches a device's options or a hashed message, so no change can alter a
 * deterministic result. Everything else in the node's configuration (port, store, limits…) is
 * fixed at start: asking to change it is a 422 that names the key.
 *
 * Changes persist in `<data>/config.json` (written atomically) and each one is appended, with
 * who signed it and the commitment ID, to `<data>/config-history.jsonl`. A captured operator
 * request cannot be replayed to undo a later change: its signature is spent in the node's store
 * (node/spent-signatures.ts), and a commitment that was already applied is refused here too, for
 * stores that forget (`--store memory`). Persisted settings win over `--operator` at start: they are the operator's latest
 * signed decision (delete config.json to reset them).
 */
import { mkdir, open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import { ConfigError, ForbiddenError, InternalError, UnprocessableError } from '../core/errors.js'
import { isAoId } from '../core/id.js'
import type { Logger, Message, Value } from '../core/types.js'

export const CONFIG_FILE = 'config.json'
export const HISTORY_FILE = 'config-history.jsonl'

/** Who made a change: the operator's address and the commitment that authorised it. */
export interface ChangeAuthor {
  readonly committer: string
  readonly commitment: string
}

export interface NodeSettings {
  /** The address allowed to change settings (default: the node's own). */
  operator(): string
  /** True once `initialized` is `permanent`. */
  frozen(): boolean
  /** Whether every httpsig reply is signed. */
  signReplies(): boolean
  /** Whether the ledger answers from records by `writer` (`trust`, or `--trust` until set). */
  trusts(writer: string): boolean
  /** The settings as meta@1.0/info shows them. */
  current(): Message
  /** Validates, applies and persists a change; resolves to the new settings. */
  apply(changes: Message, by: ChangeAuthor): Promise<Message>
}

export interface SettingsInit {
  readonly dataDir: string
  /** The node's own address: the operator unless configured otherwise. */
  readonly address: string
  /** `--operator` / HASHBEAM_OPERATOR. */
  readonly operator?: string | undefined
  /** `--trust` / HASHBEAM_TRUST: trusted ledger writers until `trust` is set over HTTP. */
  readonly trust?: readonly string[] | undefined
  /** The fixed public configuration: its keys cannot be changed at run time. */
  readonly fixed: Readonly<Record<string, unknown>>
  readonly log: Logger
}

const text = (max: number) => (key: string, v: Value): Value => {
  if (typeof v !== 'string' || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) throw invalid(key, `text of at most ${max} characters`)
  return v
}
const flag = (key: string, v: Value): boolean => {
  if (v === true || v === 'true') return true
  if (v === false || v === 'false') return false
  throw invalid(key, 'true or false')
}

/** The keys that may change, each with its validator (which normalises the value). */
const UPDATABLE: Readonly<Record<string, (key: string, v: Value) => Value>> = {
  operator: (key, v) => {
    if (typeof v !== 'string' || !isAoId(v)) throw invalid(key, 'a 43-character address')
    return v
  },
  initialized: (key, v) => (v === 'permanent' ? v : flag(key, v)),
  name: text(200),
  description: text(2000),
  'sign-replies': flag,
  trust: (key, v) => addresses(key, v),
}

/** A list of at most 100 addresses, from a list or from text split on commas and blanks. */
export function addresses(key: string, v: Value): string[] {
  const items = typeof v === 'string' ? v.split(/[\s,]+/).filter((a) => a !== '') : Array.isArray(v) ? v : undefined
  if (items === undefined || items.length > 100 || !items.every((a) => typeof a === 'string' && isAoId(a))) throw invalid(key, 'a list of at most 100 43-character addresses')
  return [...new Set(items as string[])].sort()
}

export const UPDATABLE_KEYS: readonly string[] = Object.keys(UPDATABLE)

const invalid = (key: string, expected: string) =>
  new UnprocessableError(`meta: "${key}" must be ${expected}`, { code: 'invalid-config-value', detail: { key } })

/** Loads the persisted settings of a data directory. */
export async function loadSettings(init: SettingsInit): Promise<NodeSettings> {
  const configPath = join(init.dataDir, CONFIG_FILE)
  const historyPath = join(init.dataDir, HISTORY_FILE)
  let persisted = (await readJson(configPath)) as Message | undefined ?? {}
  const applied = new Set(await readHistoryCommitments(historyPath))
  if (init.operator !== undefined && !isAoId(init.operator)) {
    throw new ConfigError(`config: --operator "${init.operator}" is not a 43-character address`)
  }
  if (typeof persisted.operator === 'string' && init.operator !== undefined && persisted.operator !== init.operator) {
    init.log.warn({ persisted: persisted.operator, flag: init.operator }, `the operator set over HTTP (${CONFIG_FILE}) overrides --operator`)
  }
  const flagTrust = init.trust === undefined ? [] : addresses('--trust', [...init.trust])
  // The trusted set, rebuilt only when the persisted settings change (read on every ledger answer).
  let trustedFrom: Message | undefined
  let trusted = new Set<string>()
  const trustList = (): string[] => (Array.isArray(persisted.trust) ? (persisted.trust as string[]) : flagTrust)
  let queue: Promise<unknown> = Promise.resolve()

  const settings: NodeSettings = {
    operator: () => (typeof persisted.operator === 'string' ? persisted.operator : init.operator ?? init.address),
    frozen: () => persisted.initialized === 'permanent',
    signReplies: () => persisted['sign-replies'] === true,
    trusts(writer) {
      if (trustedFrom !== persisted) {
        trusted = new Set(trustList())
        trustedFrom = persisted
      }
      return trusted.has(writer)
    },
    current: () => ({ operator: settings.operator(), initialized: persisted.initialized ?? false, trust: trustList(), ...without(persisted, ['operator', 'initialized', 'trust']) }),
    apply(changes, by) {
      const run = queue.then(async () => {
        if (settings.frozen()) throw new ForbiddenError('meta: the node configuration is permanent (initialized=permanent)', { code: 'config-frozen' })
        if (applied.has(by.commitment)) {
          throw new ForbiddenError(`meta: commitment ${by.commitment} was already applied`, { code: 'commitment-replayed' })
        }
        const normalised = validate(changes, init.fixed)
        const next = { ...persisted, ...normalised }
        await appendLine(historyPath, {
          at: new Date().toISOString(), by: by.committer, commitment: by.commitment, changes: normalised,
          previous: Object.fromEntries(Object.keys(normalised).map((k) => [k, persisted[k] ?? null])),
        })
        // A temp file, fsynced, renamed over: a crash leaves the old file or the new one.
        await writeFileAtomic(configPath, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 })
        persisted = next
        applied.add(by.commitment)
        return settings.current()
      })
      queue = run.catch(() => undefined)
      return run
    },
  }
  return settings
}

function validate(changes: Message, fixed: Readonly<Record<string, unknown>>): Message {
  const out: Message = {}
  for (const [key, value] of Object.entries(changes)) {
    const check = UPDATABLE[key]
    if (check !== undefined) {
      out[key] = check(key, value)
      continue
    }
    const known = key in fixed || key === 'address'
    throw new UnprocessableError(
      known ? `meta: "${key}" is fixed at start and cannot be changed over HTTP` : `meta: "${key}" is not a setting (changeable: ${UPDATABLE_KEYS.join(', ')})`,
      { code: known ? 'immutable-config-key' : 'unknown-config-key', detail: { key } },
    )
  }
  if (Object.keys(out).length === 0) throw new UnprocessableError('meta: the request changes nothing', { code: 'nothing-to-change' })
  return out
}

const without = (message: Message, keys: string[]): Message =>
  Object.fromEntries(Object.entries(message).filter(([k]) => !keys.includes(k)))

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new InternalError(`config: cannot read ${file}: ${(err as Error).message}`, { code: 'config-unreadable', cause: err })
  }
}

async function readHistoryCommitments(file: string): Promise<string[]> {
  let content: string
  try {
    content = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  return content.split('\n').filter((l) => l.trim() !== '').flatMap((line) => {
    try {
      const entry = JSON.parse(line) as { commitment?: unknown }
      return typeof entry.commitment === 'string' ? [entry.commitment] : []
    } catch {
      return [] // a torn last line after a crash: the change it described was never acknowledged
    }
  })
}

async function appendLine(file: string, entry: unknown): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true })
  const handle = await open(file, 'a', 0o600)
  try {
    await handle.write(`${JSON.stringify(entry)}\n`)
    await handle.sync()
  } finally {
    await handle.close()
  }
}
