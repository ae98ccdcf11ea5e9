// attest@1.0 as a device: the shared compliance suite, its keys through the resolver (the way
// HTTP requests reach it), 400s for bad nonces, and the node's RSA wallet.
import { beforeAll, describe, expect, it } from 'vitest'
import { createRegistry } from '../../../core/registry.js'
import { createResolver } from '../../../core/resolve.js'
import type { Device, Message } from '../../../core/types.js'
import { attestDevice, createAttestor } from '../../../devices/attest/index.js'
import { measurementMessage } from '../../../devices/attest/measurement.js'
import { messageDevice } from '../../../devices/message/index.js'
import { memoryStore } from '../../../devices/store/backends/memory.js'
import { createWallet, walletAddress, type Wallet } from '../../../identity/keys.js'
import { loadOrCreateWallet } from '../../../node/wallet-file.js'
import { memoryLogger } from '../../helpers/log.js'
import { sharedWalletPath } from '../../helpers/node.js'
import { deviceCompliance } from '../../helpers/device-suite.js'
import { fixedHardware, fixedMeasurement, snpHardware } from './helpers/attest.js'
import { amdPki, type AmdPki } from './helpers/snp.js'

let wallet: Wallet
let amd: AmdPki
beforeAll(async () => {
  ;[wallet, amd] = await Promise.all([createWallet('ed25519'), amdPki()])
})

const NONCE = '0123456789abcdef'.repeat(4)
const make = (w: Wallet = wallet, extra: Partial<Parameters<typeof createAttestor>[0]> = {}) =>
  attestDevice({ wallet: w, measurement: fixedMeasurement(), hardware: fixedHardware, providers: [], ...extra })

function node(device: Device) {
  return createResolver({ registry: createRegistry([messageDevice(), device]), store: memoryStore(), log: memoryLogger() })
}
const body = (keys: Message) => ({ global: keys, scoped: new Map() })

describe('attest@1.0', () => {
  deviceCompliance({ make: () => make(), samplePath: '/~attest@1.0/measurement' })

  it('measurement: the measurement and its parts, the same on every call (a cacheable step)', async () => {
    const resolver = node(make())
    const a = await resolver.resolve('/~attest@1.0/measurement')
    expect(a.value).toEqual(measurementMessage(fixedMeasurement()))
    const b = await resolver.resolve('/~attest@1.0/measurement')
    expect(b).toMatchObject({ id: a.id, cached: true })
  })

  it('info: description, keys, trust labels, TEE providers and trusted list size', async () => {
    const info = (await node(make(wallet, { trustedMeasurements: ['a'.repeat(64)] })).resolve('/~attest@1.0/info')).value as Message
    expect(info).toMatchObject({
      name: 'attest', version: '1.0', keys: ['measurement', 'report', 'verify'],
      'trust-labels': ['self-signed', 'tee-attested'], 'tee-providers': [], 'trusted-measurements': 1,
      description: expect.stringContaining('attestation'),
    })
  })

  it('report&nonce= gives a fresh signed report every time (never cached)', async () => {
    const resolver = node(make())
    const a = await resolver.resolve(`/~attest@1.0/report&nonce=${NONCE}`)
    const b = await resolver.resolve(`/~attest@1.0/report&nonce=${NONCE}`)
    expect(a.value).toMatchObject({ type: 'attestation-report', nonce: NONCE, address: walletAddress(wallet), trust: 'self-signed' })
    expect(b.cached).toBe(false)
  })

  it.each([
    ['no nonce', '/~attest@1.0/report', 'nonce-required'],
    ['a bare flag', '/~attest@1.0/report&nonce', 'nonce-required'],
    ['15 bytes', `/~attest@1.0/report&nonce=${'00'.repeat(15)}`, 'invalid-nonce'],
    ['65 bytes', `/~attest@1.0/report&nonce=${'00'.repeat(65)}`, 'invalid-nonce'],
    ['non-hex', `/~attest@1.0/report&nonce=${'xy'.repeat(16)}`, 'invalid-nonce'],
    ['odd length', `/~attest@1.0/report&nonce=${'a'.repeat(33)}`, 'invalid-nonce'],
  ])('report with %s is a 400', async (_what, path, code) => {
    await expect(node(make()).resolve(path)).rejects.toMatchObject({ status: 400, code })
  })

  it('verify takes the document under `document` or spread as the body, with expected-nonce/address', async () => {
    const resolver = node(make())
    const report = (await resolver.resolve(`/~attest@1.0/report&nonce=${NONCE}`)).value as Message
    const viaDocument = (await resolver.resolve('/~attest@1.0/verify', body({ document: report, 'expected-nonce': NONCE, 'expected-address': walletAddress(wallet) }))).value as Message
    expect(viaDocument).toMatchObject({ valid: true, kind: 'report', trust: 'self-signed' })
    expect((viaDocument.checks as Message[]).filter((c) => ['nonce-binding', 'address'].includes(c.name as string)).every((c) => c.ok)).toBe(true)
    const spread = (await resolver.resolve('/~attest@1.0/verify', body({ ...JSON.parse(JSON.stringify(report)), 'expected-nonce': NONCE }))).value as Message
    expect(spread).toMatchObject({ valid: true, kind: 'report' })
    const wrong = (await resolver.resolve('/~attest@1.0/verify', body({ document: report, 'expected-nonce': 'ff'.repeat(32) }))).value as Message
    expect(wrong).toMatchObject({ valid: false })
    const nothing = (await resolver.resolve('/~attest@1.0/verify')).value as Message
    expect(nothing).toMatchObject({ valid: false, kind: 'unknown' })
  })

  it('a node in a (stand-in) confidential VM serves tee-attested reports it can itself verify', async () => {
    const resolver = node(make(wallet, { providers: [snpHardware(amd)] }))
    const report = (await resolver.resolve(`/~attest@1.0/report&nonce=${NONCE}`)).value as Message
    expect(report).toMatchObject({ trust: 'tee-attested', tee: { type: 'sev-snp' } })
    expect((await resolver.resolve('/~attest@1.0/verify', body({ document: report }))).value).toMatchObject({ valid: true, trust: 'tee-attested' })
  })

  it('the attestor measures lazily once, and the device start() computes it up front', async () => {
    let calls = 0
    const measurement = async () => {
      calls += 1
      return fixedMeasurement()
    }
    const device = attestDevice({ wallet, measurement, hardware: async () => fixedHardware, providers: [] })
    await device.start?.()
    await device.start?.()
    const resolver = node(device)
    await resolver.resolve(`/~attest@1.0/report&nonce=${NONCE}`)
    await resolver.resolve('/~attest@1.0/measurement')
    expect(calls).toBe(1)
    let failures = 0
    const flaky = attestDevice({ wallet, measurement: async () => { if (failures++ === 0) throw new Error('dist/ unreadable'); return fixedMeasurement() }, hardware: fixedHardware, providers: [] })
    await expect(flaky.start?.()).rejects.toThrow('dist/ unreadable')
    await expect(flaky.start?.()).resolves.toBeUndefined()
  })

  it('signs with the node\'s RSA-4096 wallet (RSA-PSS/SHA-512) and verifies', async () => {
    const rsa = await loadOrCreateWallet(sharedWalletPath())
    const attestor = createAttestor({ wallet: rsa, measurement: fixedMeasurement(), hardware: fixedHardware, providers: [] })
    const report = await attestor.report(NONCE)
    expect(report).toMatchObject({ 'key-type': 'rsa', address: walletAddress(rsa) })
    expect(Object.values(report.commitments as Message)[0]).toMatchObject({ type: 'rsa-pss-sha512', committer: walletAddress(rsa) })
    const r = await attestor.verify(JSON.parse(JSON.stringify(report)), { expectedNonce: NONCE, expectedAddress: walletAddress(rsa) })
    expect(r).toMatchObject({ valid: true, trust: 'self-signed' })
    const receipt = await attestor.receipt({ request: 'q'.repeat(43), result: 'r'.repeat(43), hashpath: 'a/b', modelSha256: '00'.repeat(32), profileId: 'p'.repeat(43), usage: { 'total-tokens': 3 } })
    expect(await attestor.verify(receipt)).toMatchObject({ valid: true, kind: 'receipt' })
  })
})
