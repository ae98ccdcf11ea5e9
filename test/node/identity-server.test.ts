/**
 * Identity over a real TCP port with the real binary: `hashbeam keygen`, `serve --operator`,
 * and aoconnect (mainnet mode, real fetch) talking to it — signed and unsigned GETs, a
 * header-only signed POST, an ANS-104 request, a flipped signature byte, and a signed reply
 * checked against the node's address.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { connect, createSigner } from '@permaweb/aoconnect'
import { verifyMessageSignatures } from '../../devices/httpsig/index.js'
import { decodeMessage } from '../../devices/httpsig/message-codec.js'
import { createWallet, walletAddress, type Wallet } from '../../identity/keys.js'
import { loadWallet } from '../../node/wallet-file.js'
import { headerFields } from '../helpers/http.js'
import { sharedWalletPath, tempDir } from '../helpers/node.js'
import { runCli, startServer, type ServerProcess } from '../helpers/process.js'

type AoRequest = (args: Record<string, unknown>) => Promise<Response>
const mainnet = (options: object) => connect(options as never) as unknown as { request: AoRequest }

const data = tempDir()
let server: ServerProcess
let client: Wallet
let nodeAddress: string
let operatorAddress: string

beforeAll(async () => {
  client = await createWallet('rsa')
  nodeAddress = walletAddress((await loadWallet(sharedWalletPath()))!)
  const keygen = await runCli(['keygen', '--out', join(data.dir, 'operator.json'), '--kind', 'ed25519'])
  expect(keygen.code).toBe(0)
  operatorAddress = keygen.stdout.trim()
  server = await startServer(['--data', data.dir, '--wallet', sharedWalletPath(), '--store', 'memory', '--operator', operatorAddress])
})
afterAll(async () => {
  await server?.stop()
  data.cleanup()
})

describe('hashbeam keygen', () => {
  it('writes a 0600 wallet whose address it prints, and never overwrites one', async () => {
    const file = join(data.dir, 'operator.json')
    expect(operatorAddress).toBe(walletAddress((await loadWallet(file))!))
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await loadWallet(file))!.kind).toBe('ed25519')
    const again = await runCli(['keygen', '--out', file])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('not overwriting')
  })
})

describe('aoconnect against hashbeam serve over TCP', () => {
  let signed: AoRequest
  let unsigned: AoRequest
  beforeAll(() => {
    signed = mainnet({ MODE: 'mainnet', URL: server.url, signer: createSigner(client.jwk as never) }).request
    unsigned = mainnet({ MODE: 'mainnet', URL: server.url }).request
  })

  it('GETs info and info/address, signed and unsigned; info names the configured operator', async () => {
    for (const request of [signed, unsigned]) {
      const info = await request({ path: '/~meta@1.0/info', method: 'GET' })
      const message = decodeMessage(headerFields(info.headers), new Uint8Array(await info.arrayBuffer()))
      expect(message).toMatchObject({ address: nodeAddress, operator: operatorAddress })
      expect(await (await request({ path: '/~meta@1.0/info/address', method: 'GET' })).text()).toBe(nodeAddress)
    }
  })

  it('a header-only signed POST to message@1.0 verifies as the client\'s; the node signs its reply on request', async () => {
    const res = await signed({ path: '/~message@1.0/verify', method: 'POST', 'x-test': 'hello', 'accept-signature': 'sig=()' })
    expect(res.status).toBe(200)
    const fields = headerFields(res.headers)
    const report = decodeMessage(fields, new Uint8Array(await res.arrayBuffer()))
    expect(report).toMatchObject({ valid: true, commitments: [{ committer: walletAddress(client), valid: true }] })
    const [replySignature] = verifyMessageSignatures({ status: res.status, fields })
    expect(replySignature).toMatchObject({ committer: nodeAddress, params: { tag: 'hashbeam-reply' } })
    expect(replySignature!.signatureBase).toContain(`"hashpath": ${res.headers.get('hashpath')}`)
  })

  it('an ANS-104 request is verified and its tags are keys', async () => {
    const res = await signed({ path: '/~message@1.0/action', 'signing-format': 'ans104', Action: 'Ping' })
    expect([res.status, await res.text()]).toEqual([200, 'Ping'])
  })

  it('a signature with one byte flipped is a 400', async () => {
    const realFetch = globalThis.fetch
    vi.stubGlobal('fetch', (input: string, init: RequestInit) => {
      const headers = new Headers(init.headers)
      const [label, value] = headers.get('signature')!.split('=:')
      const bytes = Buffer.from(value!.slice(0, -1), 'base64')
      bytes[3]! ^= 0x40
      headers.set('signature', `${label}=:${bytes.toString('base64')}:`)
      return realFetch(input, { ...init, headers })
    })
    try {
      const res = await signed({ path: '/~message@1.0/x-test', method: 'GET', 'x-test': 'hello' })
      expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([400, 'invalid-signature'])
    } finally {
      vi.unstubAllGlobals()
    }
  })
})
