/**
 * @module
 * The filesystem store: one file per key, for small nodes and for stores a person wants to
 * inspect with `ls`. LMDB is the default for anything large; see `list` below for why.
 *
 * Layout under `root`: `keys/` holds the values, `tmp/` the writes in flight.
 * - A key becomes one file name (see `encodeKeyName` in fs-names.ts): every byte outside
 *   `[A-Za-z0-9_-]` is written `%XX`, so `/`, `..` and NUL in a key are plain characters of a
 *   single name and can never leave `keys/`. Names longer than FS_NAME_SEGMENT are cut into
 *   directories ending in `+` (a character the encoding never emits, so no file collides).
 * - A write is crash-safe: temp file, fsync, rename over the target, fsync of the directory.
 *   Readers see the old or the new bytes, never a torn file.
 * - `list` walks the directories under the prefix, decodes and sorts: O(keys under prefix) per
 *   call, fine for the sizes this backend is meant for.
 * - `batch` is not atomic across a crash (nothing on a plain filesystem is): values are written
 *   and synced first, then renamed into place in order, so a failed write applies nothing.
 * Assumes a case-sensitive filesystem (Linux): IDs are base64url and differ only by case.
 */
import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Logger } from '../../../core/types.js'
import type { BatchOp, ByteRange, ListOptions } from '../../../core/store.js'
import { FS_STALE_TEMP_MS } from '../constants.js'
import { decodeKeyName, encodeKeyName, encodePrefixName, keyNamePath, SEGMENT_DIR_SUFFIX } from './fs-names.js'
import {
  assertKey, assertListArgs, assertValue, closedError, compareKeys, listStart, plainBytes, resolveRange,
  type StreamingStore,
} from './shared.js'

export interface FsStoreOptions {
  /** Directory that holds the store; created when missing. */
  readonly root: string
  readonly log?: Logger
}

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException)?.code === 'ENOENT'

/** Makes a directory entry (a rename, an unlink, a new directory) durable. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try { await handle.sync() } finally { await handle.close() }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset)
    offset += bytesWritten
  }
}

/** Opens (creating if needed) a filesystem store rooted at `options.root`. */
export async function openFsStore(options: FsStoreOptions): Promise<StreamingStore> {
  const keysDir = join(options.root, 'keys')
  const tmpDir = join(options.root, 'tmp')
  await mkdir(keysDir, { recursive: true })
  await mkdir(tmpDir, { recursive: true })
  await removeStaleTemps(tmpDir, options.log)
  let closed = false

  const open_ = (): void => {
    if (closed) throw closedError('fs')
  }
  const pathOf = (key: string): string => join(keysDir, ...keyNamePath(encodeKeyName(key)))

  /** Streams bytes into a fresh synced temp file; returns its path. Removes it on failure. */
  async function writeTemp(source: AsyncIterable<Uint8Array> | Uint8Array): Promise<string> {
    const temp = join(tmpDir, `${randomBytes(12).toString('hex')}.tmp`)
    const handle = await open(temp, 'wx')
    try {
      if (source instanceof Uint8Array) await writeAll(handle, source)
      else for await (const part of source) { assertValue(part); await writeAll(handle, part) }
      await handle.sync()
    } catch (err) {
      await handle.close().catch(() => {})
      await unlink(temp).catch(() => {})
      throw err
    }
    await handle.close()
    return temp
  }

  /** The directory of a key's file, created (durably) when the key needs segment directories. */
  async function keyDir(target: string): Promise<string> {
    const dir = dirname(target)
    if (dir !== keysDir) {
      // Long keys live in segment directories; make new ones durable too.
      const created = await mkdir(dir, { recursive: true })
      if (created !== undefined) for (let d = dir; d !== keysDir; d = dirname(d)) await syncDir(dirname(d))
    }
    return dir
  }

  /** Moves a synced temp file over the key's file. Returns the directory to sync. */
  async function install(temp: string, key: string): Promise<string> {
    const target = pathOf(key)
    const dir = await keyDir(target)
    await rename(temp, target)
    return dir
  }

  /**
   * Write-once install: the temp is hard-linked, which fails when the target exists, so the
   * filesystem decides atomically which of two writers (threads or processes) comes first.
   * Returns the directory to sync, or undefined when the key already held a value.
   */
  async function installNew(temp: string, key: string): Promise<string | undefined> {
    const target = pathOf(key)
    const dir = await keyDir(target)
    let linked = true
    try {
      await link(temp, target)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      linked = false
    }
    await unlink(temp)
    return linked ? dir : undefined
  }

  async function remove(key: string): Promise<string | undefined> {
    const target = pathOf(key)
    try {
      await unlink(target)
      return dirname(target)
    } catch (err) {
      if (isMissing(err)) return undefined
      throw err
    }
  }

  async function sizeOf(key: string): Promise<number | undefined> {
    try {
      const info = await stat(pathOf(key))
      return info.isFile() ? info.size : undefined
    } catch (err) {
      if (isMissing(err)) return undefined
      throw err
    }
  }

  /** Every key under the prefix, sorted (see the module comment for the cost). */
  async function keysUnder(prefix: string): Promise<string[]> {
    const wanted = encodePrefixName(prefix)
    const found: string[] = []
    const walk = async (dir: string, nameSoFar: string): Promise<void> => {
      let entries
      try { entries = await readdir(dir, { withFileTypes: true }) } catch (err) {
        if (isMissing(err)) return
        throw err
      }
      for (const entry of entries) {
        if (entry.isDirectory() && entry.name.endsWith(SEGMENT_DIR_SUFFIX)) {
          const name = nameSoFar + entry.name.slice(0, -1)
          if (name.startsWith(wanted) || wanted.startsWith(name)) await walk(join(dir, entry.name), name)
        } else if (entry.isFile()) {
          const name = nameSoFar + entry.name
          const key = name.startsWith(wanted) ? decodeKeyName(name) : undefined
          if (key !== undefined) found.push(key)
        }
      }
    }
    await walk(keysDir, '')
    return found.sort(compareKeys)
  }

  return {
    kind: 'fs',

    async get(key: string) {
      open_()
      assertKey(key)
      try { return plainBytes(await readFile(pathOf(key))) } catch (err) {
        if (isMissing(err)) return undefined
        throw err
      }
    },

    async put(key: string, value: Uint8Array) {
      open_()
      assertKey(key)
      assertValue(value)
      await syncDir(await install(await writeTemp(value), key))
    },

    async has(key: string) {
      open_()
      assertKey(key)
      return (await sizeOf(key)) !== undefined
    },

    async delete(key: string) {
      open_()
      assertKey(key)
      const dir = await remove(key)
      if (dir !== undefined) await syncDir(dir)
      return dir !== undefined
    },

    async *list(prefix: string, options: ListOptions = {}) {
      open_()
      assertListArgs(prefix, options)
      const from = listStart(prefix, options.after)
      let remaining = options.limit ?? Infinity
      for (const key of await keysUnder(prefix)) {
        if (remaining <= 0) return
        const c = compareKeys(key, from.key)
        if (c < 0 || (c === 0 && from.exclusive)) continue
        remaining--
        yield key
      }
    },

    async batch(ops: readonly BatchOp[]) {
      open_()
      for (const op of ops) {
        assertKey(op.key)
        if (op.type === 'put') assertValue(op.value)
      }
      // Phase 1: every value written and synced, so a failure here applies nothing.
      const settled = await Promise.allSettled(ops.map((op) => (op.type === 'put' ? writeTemp(op.value) : undefined)))
      const failure = settled.find((s) => s.status === 'rejected')
      if (failure !== undefined) {
        await Promise.all(settled.map((s) => (s.status === 'fulfilled' && s.value !== undefined ? unlink(s.value).catch(() => {}) : undefined)))
        throw (failure as PromiseRejectedResult).reason
      }
      // Phase 2: renames and unlinks in op order (a later op on the same key wins), then one
      // fsync per touched directory.
      const temps = settled.map((s) => (s as PromiseFulfilledResult<string | undefined>).value)
      const dirs = new Set<string>()
      let applied = 0
      try {
        for (const op of ops) {
          const dir = op.type === 'delete' ? await remove(op.key)
            : op.ifAbsent === true ? await installNew(temps[applied]!, op.key) : await install(temps[applied]!, op.key)
          if (dir !== undefined) dirs.add(dir)
          applied++
        }
      } finally {
        // After a failure (disk full, permissions) the temps not yet renamed are garbage.
        for (const temp of temps.slice(applied)) if (temp !== undefined) await unlink(temp).catch(() => {})
        for (const dir of dirs) await syncDir(dir)
      }
    },

    async size(key: string) {
      open_()
      assertKey(key)
      return sizeOf(key)
    },

    async getStream(key: string, range?: ByteRange) {
      open_()
      assertKey(key)
      let handle: FileHandle
      try { handle = await open(pathOf(key), 'r') } catch (err) {
        if (isMissing(err)) return undefined
        throw err
      }
      // The open handle pins this version of the file even if a writer renames over it.
      let span: { start: number; end: number }
      try { span = resolveRange(range, (await handle.stat()).size) } catch (err) {
        await handle.close()
        throw err
      }
      return (async function* () {
        try {
          if (span.end === span.start) return
          const stream = handle.createReadStream({ start: span.start, end: span.end - 1, highWaterMark: 1 << 20, autoClose: false })
          for await (const chunk of stream) yield plainBytes(chunk as Buffer)
        } finally {
          await handle.close()
        }
      })()
    },

    async putStream(key: string, source: AsyncIterable<Uint8Array>) {
      open_()
      assertKey(key)
      const temp = await writeTemp(source)
      if (closed) {
        await unlink(temp).catch(() => {})
        throw closedError('fs')
      }
      await syncDir(await install(temp, key))
    },

    async close() {
      closed = true
    },
  }
}

/** Temp files left by a crash are garbage; young ones may belong to another live process. */
async function removeStaleTemps(tmpDir: string, log?: Logger): Promise<void> {
  const now = Date.now()
  let removed = 0
  for (const name of await readdir(tmpDir)) {
    const path = join(tmpDir, name)
    try {
      if (now - (await stat(path)).mtimeMs > FS_STALE_TEMP_MS) {
        await unlink(path)
        removed++
      }
    } catch (err) {
      if (!isMissing(err)) throw err
    }
  }
  if (removed > 0) log?.info({ removed, dir: tmpDir }, 'store: removed stale temp files')
}
