/**
 * CPU time of processes and of the whole machine from /proc (Linux), for benchmarks that must
 * say where the CPU went, not only how fast the run was: a ratio on a shared 2-core machine
 * means little without knowing which process (or which other session) took the cores.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Clock ticks per second of /proc's times (100 on every Linux we run on; asked once). */
const TICKS_PER_SECOND = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 } catch { return 100 }
})()

/**
 * utime + stime of a process, all its threads (llama.cpp's included), in ms. The command name
 * in field 2 may hold spaces and parentheses, so fields are counted after its last ')'.
 */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // After ')': state is field 3, so utime (14) and stime (15) sit at 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_SECOND
}

/** The machine's busy and total CPU time over all cores, in ms (from the `cpu` line of /proc/stat). */
export function machineCpuMs(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[]
  const busy = user! + nice! + system! + irq! + softirq! + steal!
  return { busy: busy * 1000 / TICKS_PER_SECOND, total: (busy + idle! + iowait!) * 1000 / TICKS_PER_SECOND }
}

/** CPU ms each named process spent, and the machine's busy share, between `start` and `end()`. */
export function cpuMeter(pids: ReadonlyMap<string, number>) {
  const read = () => new Map([...pids].map(([name, pid]) => [name, processCpuMs(pid)]))
  const before = read()
  const machineBefore = machineCpuMs()
  return {
    end(): { perProcess: Map<string, number>; machineBusyMs: number; machineTotalMs: number } {
      const after = read()
      const machine = machineCpuMs()
      return {
        perProcess: new Map([...after].map(([name, ms]) => [name, ms - (before.get(name) ?? 0)])),
        machineBusyMs: machine.busy - machineBefore.busy,
        machineTotalMs: machine.total - machineBefore.total,
      }
    },
  }
}
