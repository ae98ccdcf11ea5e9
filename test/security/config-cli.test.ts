/**
 * `hashbeam config get|set` against a real `hashbeam serve` process (the default operator: the
 * node's own wallet in `<data>/wallet.json`). `config set` changes a setting on the running node;
 * a request signed by anyone else, or the CLI's own request sent again (even after a restart),
 * gets a 403 and changes nothing; a node that is down or refuses is a clear exit 1.
 */
import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { SIGNATURE_TAG } from '../../devices/httpsig/index.js'
import { configCommand, operatorRequest } from '../../node/cli-config.js'
import { createWallet, type Wallet } from '../../identity/keys.js'
import { loadOrCreateWallet, loadWallet } from '../../node/wallet-file.js'
import { sharedWalletPath, tempDir } from '../helpers/node.js'
import { nowSeconds, signPrivileged } from '../helpers/operator.js'
import { freePort, runCli, startServer, type ServerProcess } from '../helpers/process.js'

const data = tempDir()
const SERVE = ['--data', data.dir, '--no-demo-model']
let server: ServerProcess
let nodeWallet: Wallet

beforeAll(async () => {
  // The node's wallet where `serve` and `config` both look by default: <data>/wallet.json.
  await copyFile(sharedWalletPath(), join(data.dir, 'wallet.json'))
  nodeWallet = (await loadWallet(join(data.dir, 'wallet.json')))!
  server = await startServer(SERVE)
})
afterAll(async () => {
  await server?.stop()
  data.cleanup()
})

const cli = (...args: string[]) => runCli(['config', ...args, '--node', server.url])
const getName = async () => (await fetch(`${server.url}/~meta@1.0/info/name`)).text()
async function refusal(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { code: string }).code]
}

describe('hashbeam config', () => {
  it('set changes a setting on the running node, signed with <data>/wallet.json; get reads it back', async () => {
    const set = await cli('set', 'name', 'set-by-the-cli', '--data', data.dir)
    expect(set, set.stderr).toMatchObject({ code: 0, stdout: 'set-by-the-cli\n' })
    expect(await (await cli('get', 'name')).stdout).toBe('set-by-the-cli\n')
    const description = await cli('set', 'description', 'long text — UTF-8, spaces, "quotes"', '--data', data.dir)
    expect(description.code, description.stderr).toBe(0)
    const all = await cli('get')
    expect(JSON.parse(all.stdout)).toMatchObject({ name: 'set-by-the-cli', description: 'long text — UTF-8, spaces, "quotes"', initialized: false })
  })

  it('a request signed by anyone else is refused (403, exit 1), with the CLI or by hand, and changes nothing', async () => {
    const otherFile = join(data.dir, 'other.json')
    await loadOrCreateWallet(otherFile, 'ed25519')
    const refused = await cli('set', 'name', 'taken', '--wallet', otherFile)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/the node refused \(403 not-operator\)/)
    const stranger = operatorRequest(await createWallet('ed25519'), server.url, 'name', 'taken')
    expect(await refusal(await fetch(stranger.url, stranger.init))).toEqual([403, 'not-operator'])
    // The node's key without the CLI's tag: what anything else the node signs looks like.
    const untagged = signPrivileged(nodeWallet, { url: `${server.url}/~meta@1.0/info`, headers: { name: 'taken' } })
    expect(await refusal(await fetch(`${server.url}/~meta@1.0/info`, untagged))).toEqual([403, 'wrong-signature-tag'])
    expect(await getName()).toBe('set-by-the-cli')
  })

  it('the CLI\'s request sent again is refused (403 signature-replayed), also after a restart', async () => {
    const once = operatorRequest(nodeWallet, server.url, 'name', 'once')
    expect((await fetch(once.url, once.init)).status).toBe(200)
    expect(await refusal(await fetch(once.url, once.init))).toEqual([403, 'signature-replayed'])
    const url = `${server.url}/~meta@1.0/info`
    const kept = signPrivileged(nodeWallet, { url, headers: { name: 'kept' } }, { params: { created: nowSeconds(), tag: SIGNATURE_TAG.operator } })
    expect((await fetch(url, kept)).status).toBe(200)
    expect((await cli('set', 'name', 'latest', '--data', data.dir)).code).toBe(0)
    await server.stop()
    server = await startServer(SERVE)
    expect(await refusal(await fetch(`${server.url}/~meta@1.0/info`, kept))).toEqual([403, 'signature-replayed'])
    expect(await getName()).toBe('latest')
  })

  it('a node that is down, or one that refuses, is a clear exit 1; usage mistakes are usage errors (exit 2)', async () => {
    const closed = await freePort()
    const down = await runCli(['config', 'get', '--node', `http://127.0.0.1:${closed}`])
    expect(down.code).toBe(1)
    expect(down.stderr).toContain(`cannot reach the node at http://127.0.0.1:${closed} (ECONNREFUSED); is it running?`)
    const immutable = await cli('set', 'port', '1', '--data', data.dir)
    expect(immutable).toMatchObject({ code: 1, stderr: expect.stringMatching(/the node refused \(422 immutable-config-key\)/) })
    // The rest in process: the same command code, without paying for a process each.
    const inProcess = async (...args: string[]) => {
      let stderr = ''
      const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => { stderr += String(chunk); return true })
      const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
      try {
        return { code: await configCommand(['set', ...args, '--node', server.url]).catch((err: Error) => err), stderr }
      } finally {
        write.mockRestore()
        out.mockRestore()
      }
    }
    expect(await inProcess('name', 'x', '--wallet', join(data.dir, 'missing.json'))).toMatchObject({ code: 1, stderr: expect.stringContaining('no wallet at') })
    expect(await inProcess('Bad Key', 'x')).toMatchObject({ code: expect.objectContaining({ message: expect.stringContaining('not a setting name') }) })
    expect(await inProcess('name', '')).toMatchObject({ code: expect.objectContaining({ message: expect.stringContaining('cannot be empty') }) })
    expect(await getName()).toBe('latest')
  })
})

