/**
 * Running the real `hashbeam` binary (bin/hashbeam.js over dist/, built by `npm test`) in a
 * child process: for tests of the CLI, restarts, signals and crash safety.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = join(REPO_ROOT, 'bin/hashbeam.js')

/** Throws a helpful error when dist/ has not been built. */
export function requireBuild(): void {
  if (!existsSync(join(REPO_ROOT, 'dist/node/cli.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)')
}

export interface ServerProcess {
  readonly child: ChildProcess
  readonly url: string
  /** Everything the process wrote to stderr so far. */
  stderr(): string
  /** Everything the process wrote to stdout so far (the node's JSON log lines). */
  stdout(): string
  /** Sends a signal and resolves with the exit code (or the signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>
}

/** Starts `hashbeam serve --port 0 …` and resolves once it prints its URL. */
export async function startServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  requireBuild()
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, HASHBEAM_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let err = ''
  child.stderr?.on('data', (chunk: Buffer) => { err += chunk.toString() })
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? -1)))
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start in 60 s:\n${err}`)), 60_000)
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(err)
      if (m?.[1] !== undefined) {
        clearTimeout(timer)
        done(m[1])
      }
    }
    child.stderr?.on('data', check)
    void exited.then((code) => { clearTimeout(timer); fail(new Error(`server exited (${code}) before listening:\n${err}`)) })
  })
  return {
    child, url, stderr: () => err, stdout: () => out,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/** Runs `hashbeam <args>` to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  requireBuild()
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, HASHBEAM_LOG_LEVEL: 'warn', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.on('exit', (code) => done({ code: code ?? -1, stdout, stderr }))
  })
}

/** A free TCP port on 127.0.0.1 (released before it is returned). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const port = (server.address() as { port: number }).port
  await new Promise((done) => server.close(done))
  return port
}
