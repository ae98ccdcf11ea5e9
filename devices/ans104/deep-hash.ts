/**
 * @module
 * Arweave's deep hash (SHA-384), the digest ANS-104 signs. It hashes a tree of byte strings so
 * that no two different trees share an encoding: every node is tagged with its kind and size.
 *
 *   blob(b)  = H( H("blob" ‖ decimal(len b)) ‖ H(b) )
 *   list(xs) = fold over xs: acc ← H(acc ‖ deepHash(x)),  starting from H("list" ‖ decimal(count))
 */
import { createHash } from 'node:crypto'

/** A byte string or a list of such trees. */
export type DeepHashChunk = Uint8Array | readonly DeepHashChunk[]

const sha384 = (...parts: Uint8Array[]): Uint8Array => {
  const hash = createHash('sha384')
  for (const part of parts) hash.update(part)
  return new Uint8Array(hash.digest())
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text)

/** The 48-byte deep hash of a chunk tree. */
export function deepHash(chunk: DeepHashChunk): Uint8Array {
  if (chunk instanceof Uint8Array) return sha384(sha384(ascii(`blob${chunk.length}`)), sha384(chunk))
  let acc = sha384(ascii(`list${chunk.length}`))
  for (const child of chunk) acc = sha384(acc, deepHash(child))
  return acc
}
