/**
 * The filesystem backend beyond the shared suite: the key → file name encoding, keys that try
 * to leave the root, temp-file hygiene, and files in the store that it did not write.
 */
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openFsStore } from '../../../devices/store/backends/fs.js'
import { decodeKeyName, encodeKeyName, keyNamePath, SEGMENT_DIR_SUFFIX } from '../../../devices/store/backends/fs-names.js'
import { FS_NAME_SEGMENT, MAX_KEY_BYTES } from '../../../devices/store/constants.js'
import { memoryLogger } from '../../helpers/log.js'
import { collect, expectBytes, source, tempDir } from './helpers.js'
import { storeKey } from './suite-property.js'

/** Every file and directory under `dir`, relative to it. */
async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.map((e) => relative(dir, join(e.parentPath, e.name))).sort()
}

describe('fs key names', () => {
  it('round-trips any key and emits only safe characters', () => {
    fc.assert(fc.property(storeKey, (key) => {
      const name = encodeKeyName(key)
      expect(name).toMatch(/^[A-Za-z0-9_%-]+$/)
      expect(decodeKeyName(name)).toBe(key)
    }), { numRuns: 500 })
  })

  it('preserves prefixes, which lets list prune directories', () => {
    fc.assert(fc.property(storeKey, storeKey, (key, prefix) => {
      expect(encodeKeyName(key).startsWith(encodeKeyName(prefix))).toBe(key.startsWith(prefix))
      expect(encodeKeyName(prefix + key).startsWith(encodeKeyName(prefix))).toBe(true)
    }), { numRuns: 500 })
  })

  it('never produces a dangerous path component', () => {
    for (const key of ['..', '.', '../x', '/', 'a/../../b', 'nul\0', '.hidden', '😀'.repeat(256), '/'.repeat(MAX_KEY_BYTES)]) {
      for (const part of keyNamePath(encodeKeyName(key))) {
        expect(part === '.' || part === '..' || part.startsWith('.')).toBe(false)
        expect(part).not.toMatch(/[/\\\0]/)
        expect(Buffer.byteLength(part)).toBeLessThanOrEqual(FS_NAME_SEGMENT + 1)
      }
    }
  })

  it('cuts long names into + directories and rejects names it did not write', () => {
    const parts = keyNamePath(encodeKeyName('x'.repeat(FS_NAME_SEGMENT * 2 + 5)))
    expect(parts.map((p) => p.length)).toEqual([FS_NAME_SEGMENT + 1, FS_NAME_SEGMENT + 1, 5])
    expect(parts.slice(0, -1).every((p) => p.endsWith(SEGMENT_DIR_SUFFIX))).toBe(true)
    for (const foreign of ['%41', 'a.b', 'a%2', 'a%zz', '%FF', '', '.tmp']) expect(decodeKeyName(foreign)).toBeUndefined()
  })
})

describe('fs store on disk', () => {
  let parent: Awaited<ReturnType<typeof tempDir>>
  let root: string
  beforeEach(async () => {
    parent = await tempDir('store-fs-disk')
    root = join(parent.dir, 'root')
  })
  afterEach(() => parent.remove())

  it('keeps keys that look like paths inside the root', async () => {
    const store = await openFsStore({ root })
    const escapes = ['../x', '../../escape', '/abs/path', 'a/../../b', 'nul\0/../y', '..', '.', '../'.repeat(300)]
    for (const key of escapes) await store.put(key, new TextEncoder().encode(key))
    await store.putStream('../streamed', source([new Uint8Array(3)]))
    expect(await readdir(parent.dir)).toEqual(['root'])
    expect((await walk(root)).every((p) => !p.startsWith('..'))).toBe(true)
    expect(await collect(store.list(''))).toEqual([...escapes, '../streamed'].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
    for (const key of escapes) expectBytes(await store.get(key), new TextEncoder().encode(key))
    await store.close()
  })

  it('leaves no temp files behind, even after a failed stream', async () => {
    const store = await openFsStore({ root })
    await store.put('a', new Uint8Array(10))
    await store.put('a', new Uint8Array(20))
    await store.batch([{ type: 'put', key: 'b', value: new Uint8Array(1) }, { type: 'delete', key: 'a' }])
    await expect(store.putStream('c', source([new Uint8Array(5)], new Error('gone')))).rejects.toThrow('gone')
    expect(await readdir(join(root, 'tmp'))).toEqual([])
    expect(await collect(store.list(''))).toEqual(['b'])
    await store.close()
  })

  it('removes stale temp files on open and keeps fresh ones', async () => {
    await mkdir(join(root, 'tmp'), { recursive: true })
    await writeFile(join(root, 'tmp', 'stale.tmp'), 'x')
    await writeFile(join(root, 'tmp', 'fresh.tmp'), 'y')
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000)
    await utimes(join(root, 'tmp', 'stale.tmp'), old, old)
    const log = memoryLogger()
    const store = await openFsStore({ root, log })
    expect(await readdir(join(root, 'tmp'))).toEqual(['fresh.tmp'])
    expect(log.entries.some((e) => e.msg === 'store: removed stale temp files')).toBe(true)
    expect(await collect(store.list(''))).toEqual([])
    await store.close()
  })

  it('ignores files in its directory that it did not write', async () => {
    const store = await openFsStore({ root })
    await store.put('real', new Uint8Array([1]))
    await writeFile(join(root, 'keys', 'README.txt'), 'hello')
    await writeFile(join(root, 'keys', '%41'), 'non-canonical A')
    await mkdir(join(root, 'keys', 'plain-dir'))
    expect(await collect(store.list(''))).toEqual(['real'])
    expect(await store.get('A')).toBeUndefined()
    await store.close()
  })
})
