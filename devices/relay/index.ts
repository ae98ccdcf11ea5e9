/**
 * @packageDocumentation
 * Folder: one device (its index.ts is its only door). May import: core/, identity/, this folder,
 * another device only through its index.ts, the libraries it needs; never node/ (eslint/boundaries.js).
 *
 * `relay@1.0`: `call` and `cast` as in HyperBEAM, and on a `--router` node the preprocess that
 * relays every request matching a route, with failover, backoff and circuit breakers; answers
 * keep the executing node's hashpath, ao-id and signature. docs/cluster.md.
 *
 * @example
 * ```sh
 * curl 'localhost:8734/~relay@1.0/call&relay-path=/~message@1.0%26a=1/a'
 * ```
 */
export { relayDevice, RELAY_DEVICE_NAME, MAX_CASTS, type RelayDeviceInit } from './device.js'
export { BUFFER_LIMIT } from './forward.js'
export { checkTarget, isInternalAddress } from './targets.js'
