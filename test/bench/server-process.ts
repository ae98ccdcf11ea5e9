/**
 * Servers the benchmarks run as real processes: spawned with the log silenced, ready when they
 * print "listening on <url>", stopped with SIGTERM (a graceful stop, as an operator's would be).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { REPO_ROOT } from './paths.js'

export interface ServerProcess {
  readonly url: string
  readonly child: ChildProcess
  stop(): Promise<void>
}

/** SIGTERM, then the exit (at once when the process already ended). */
export const stopChild = (child: ChildProcess): Promise<void> => new Promise((done) => {
  if (child.exitCode !== null || child.signalCode !== null) return done()
  child.once('exit', () => done())
  child.kill('SIGTERM')
})

/** `node <args>` from the repository root; resolves once it listens. */
export async function serverProcess(args: readonly string[]): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, HASHBEAM_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const url = await new Promise<string>((done, fail) => {
    let ready = false
    // Read to the end (a full pipe would stall the server), kept only until it listens.
    const onData = (c: Buffer) => {
      if (ready) return
      out += c.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m?.[1] !== undefined) {
        ready = true
        done(m[1])
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => fail(new Error(`server exited ${code}: ${out}`)))
  })
  return { url, child, stop: () => stopChild(child) }
}

/** `hashbeam serve <args>`. */
export const hashbeamServe = (args: readonly string[]): Promise<ServerProcess> => serverProcess([join(REPO_ROOT, 'bin/hashbeam.js'), 'serve', ...args])
