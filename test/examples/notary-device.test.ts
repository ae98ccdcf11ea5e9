// The TypeScript worked example of docs/writing-a-device.md (examples/notary-device.ts), loaded
// from its compiled file as `--device` loads it, proving each thing a built-in may do: it
// resolves a sub-path through another device, signs with the node signer, mounts an HTTP route,
// and starts and stops a resource of its own.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { idOf } from '../../core/id.js'
import type { Message } from '../../core/types.js'
import { sign, verifyWithPublicKey } from '../../identity/keys.js'
import { deviceSigningBytes } from '../../identity/signer.js'
import { notaryDevice } from '../../examples/notary-device.js'
import { deviceCompliance, startTestNode, testComponents, type TestNode } from '../helpers/testing.js'

const compiled = join(import.meta.dirname, '../../dist/examples/notary-device.js')
const target = '/~message@1.0&greeting=hello/greeting'

describe('notary@1.0 (TypeScript, --device)', () => {
  // One key for both nodes of the suite: an Ed25519 signature is deterministic, so the same
  // key gives the same answer (another key would sign, rightly, something else).
  const components = testComponents()
  deviceCompliance({ make: () => notaryDevice()(components), samplePath: `/~notary@1.0/notarize&target=${encodeURIComponent(target)}` })

  let node: TestNode
  beforeAll(async () => {
    if (!existsSync(compiled)) throw new Error(`${compiled} is missing: run npm run build (npm test does)`)
    node = await startTestNode({ devicePaths: [compiled] })
  })
  afterAll(() => node.close())

  const notarize = async (): Promise<Message> => {
    const res = await node.app.request(`/~notary@1.0/notarize&target=${encodeURIComponent(target)}`, { headers: { accept: 'application/json' } })
    expect(res.status).toBe(200)
    return (await res.json()) as Message
  }

  it('resolves a sub-path through another device and post-processes the answer', async () => {
    const result = await notarize()
    const direct = await node.resolver.resolve(target)
    expect(result).toMatchObject({ device: 'notary@1.0', target, summary: 'hello', 'result-id': direct.id, hashpath: direct.hashpath })
  })

  it('signs with the node signer: the node\'s address, domain-separated, verifiable', async () => {
    const result = await notarize()
    expect(result.signer).toBe(node.address)
    const signature = new Uint8Array(Buffer.from(result.signature as string, 'base64url'))
    const signedBytes = deviceSigningBytes('notary@1.0/notarized', new TextEncoder().encode(result['result-id'] as string))
    const { publicKeyBytes } = await import('../../identity/keys.js')
    expect(verifyWithPublicKey(node.wallet.kind, publicKeyBytes(node.wallet), signedBytes, signature)).toBe(true)
    // Domain separation: it is no signature over the bare ID (what a commitment signs).
    expect(verifyWithPublicKey(node.wallet.kind, publicKeyBytes(node.wallet), new TextEncoder().encode(result['result-id'] as string), signature)).toBe(false)
    // Nor can a bare-ID signature made with the same key pass the device's check.
    const bare = sign(node.wallet, new TextEncoder().encode(idOf({ a: 1 })))
    const check = await node.app.request(`/notary/verify?result-id=${idOf({ a: 1 })}&signature=${Buffer.from(bare).toString('base64url')}`)
    expect(await check.json()).toMatchObject({ valid: false })
  })

  it('mounts an HTTP route beside the HyperPATH route', async () => {
    const result = await notarize()
    const ok = await node.app.request(`/notary/verify?result-id=${result['result-id'] as string}&signature=${result.signature as string}`)
    expect([ok.status, await ok.json()]).toEqual([200, { valid: true, signer: node.address, limit: node.config.bodyLimit }])
    const forged = await node.app.request(`/notary/verify?result-id=${idOf({ other: 1 })}&signature=${result.signature as string}`)
    expect(await forged.json()).toMatchObject({ valid: false })
  })

  it('starts and stops a resource of its own with the node', async () => {
    const status = async () => (await (await node.app.request('/notary/status')).json()) as { running: boolean; beats: number }
    expect((await status()).running).toBe(true)
    const deadline = Date.now() + 10_000
    while ((await status()).beats < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
    expect((await status()).beats).toBeGreaterThanOrEqual(2)
    await node.stop()
    const stopped = await status()
    expect(stopped.running).toBe(false)
    await new Promise((r) => setTimeout(r, 100))
    expect((await status()).beats).toBe(stopped.beats)
  })
})
