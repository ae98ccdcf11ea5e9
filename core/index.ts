/**
 * @packageDocumentation
 * Folder: the pure core. May import: core/ only, and pure libraries (@ipld/dag-cbor, multiformats,
 * @noble/hashes, structured-headers); no node:* module, no I/O, no devices/, identity/ or node/.
 *
 * The pure core of Hashbeam: messages, canonical encoding, IDs, the HyperPATH grammar, the
 * resolver, hashpaths, the step ledger and typed errors. No HTTP, no disk, no llama.cpp.
 *
 * @example
 * ```ts
 * import { createRegistry, createResolver } from 'hashbeam/core'
 * import { messageDevice } from 'hashbeam/devices/message'
 * import { memoryStore } from 'hashbeam/devices/store'
 * const resolver = createResolver({ registry: createRegistry([messageDevice()]), store: memoryStore(), log })
 * const { value, hashpath } = await resolver.resolve('/~message@1.0&hello=world/hello')
 * ```
 */
export * from './errors.js'
export * from './error-codes.js'
export * from './types.js'
export * from './codec.js'
export * from './id.js'
export * from './message.js'
export * from './path.js'
export * from './typed.js'
export * from './request.js'
export * from './registry.js'
export * from './dispatch.js'
export * from './hashpath.js'
export * from './ledger.js'
export * from './verify.js'
export * from './resolve.js'
export * from './authority.js'
export * from './store.js'
