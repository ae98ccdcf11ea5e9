/**
 * @packageDocumentation
 * Folder: the identity layer, keys and signatures, below every device. A wallet (a private JWK, RSA or
 * Ed25519), its address, and the signature algorithms of RFC 9421 plus AO's `ethereum`, with the
 * node's one RSA-PSS. Devices sign and verify through this layer (the node's key itself reaches
 * a device only as a signer, core/types.ts `Signer`); wallet *files* stay in node/.
 *
 * May import: core/ and cryptographic libraries (`node:crypto`, @noble/*). Never devices/ or node/.
 */
export * from './keys.js'
export * from './algorithms.js'
export * from './signer.js'
