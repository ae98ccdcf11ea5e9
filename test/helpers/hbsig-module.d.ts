/**
 * Types for `hbsig` 0.1.5 (weavedb's JS emulation of HyperBEAM's `httpsig@1.0` codec), which
 * ships none: only what the tests use.
 */
declare module 'hbsig' {
  /** A request as hbsig signs it: send it with `fetch(url, {method, headers, body})`. */
  export interface HbsigRequest {
    url: string
    method: string
    headers: Record<string, string>
    body?: Blob | Uint8Array | string
  }
  /**
   * Signs a message: `path` and `method` (default POST) route it, every other key is encoded
   * the HyperBEAM way. `{path: false}` leaves `@path` out of the signature.
   */
  export type HbsigSigner = (message: Record<string, unknown>, opts?: { path?: boolean | string }) => Promise<HbsigRequest>
  export function createSigner(jwk: JsonWebKey, url: string): HbsigSigner
  export interface HbsigVerification {
    /** The signature fields parse. */
    valid: boolean
    /** Every signature verifies (RSA-PSS, 64-byte salt, keyid = the modulus). */
    verified: boolean
    error?: string
    keyId?: string
  }
  export function verify(message: { url: string; method?: string; headers: Record<string, string>; body?: unknown }): Promise<HbsigVerification>
}

/** hbsig's bundled RFC 9421 routines (its fork of http-message-signatures; HyperBEAM's `"path"` line). */
declare module 'hbsig/esm/http-message-signatures/index.js' {
  export interface HbsigKey {
    id?: string
    algs?: string[]
    verify(data: Buffer, signature: Buffer, params: Record<string, unknown>): Promise<boolean> | boolean
  }
  /** Verifies every signature; resolves to the last one's result (throws on malformed input). */
  export function verifyMessage(
    config: { keyLookup: (params: Record<string, unknown>) => Promise<HbsigKey | null> },
    message: { method?: string; url: string; headers: Record<string, string> },
  ): Promise<boolean | null>
}
