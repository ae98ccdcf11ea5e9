/**
 * @module
 * Small helpers for the store tests: deterministic test bytes, byte comparison that stays fast
 * on 64 MiB, draining iterables, and temporary directories under os.tmpdir().
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'

/** `size` pseudo-random bytes; the same seed gives the same bytes. */
export function testBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size)
  const words = new Uint32Array(out.buffer, 0, size >>> 2)
  let x = (seed * 0x9e3779b9) >>> 0 || 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    words[i] = x >>> 0
  }
  for (let i = words.length * 4; i < size; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

/** Asserts equal bytes without vitest diffing megabytes on failure. */
export function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual, 'value is missing').toBeInstanceOf(Uint8Array)
  expect(actual!.length).toBe(expected.length)
  const same = Buffer.compare(Buffer.from(actual!.buffer, actual!.byteOffset, actual!.length),
    Buffer.from(expected.buffer, expected.byteOffset, expected.length)) === 0
  expect(same, 'bytes differ').toBe(true)
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

/** Drains a byte stream into one array. */
export async function readAll(stream: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array> {
  expect(stream, 'stream is missing').toBeDefined()
  const parts = await collect(stream!)
  return Buffer.concat(parts)
}

/** Keys sorted by UTF-8 bytes, the order every store lists in. */
export function byteSorted(keys: Iterable<string>): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

/** Asserts that a promise rejects with a Hashbeam error of this code. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code })
}

/** A fresh directory under os.tmpdir() and its remover. */
export async function tempDir(label: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `hashbeam-${label}-`))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** An async source that yields the given parts (optionally failing after them). */
export async function* source(parts: Uint8Array[], failWith?: Error): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part
  if (failWith !== undefined) throw failWith
}
