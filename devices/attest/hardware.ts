/**
 * @module
 * What the node runs on, as the node itself sees it: the CPU model (from /proc/cpuinfo, else
 * Node's `os.cpus()`) and, when `nvidia-smi` is installed, each GPU's name, driver and memory.
 *
 * This is a self-report. Without TEE evidence nothing proves it — a host can lie about its GPU —
 * so it is informational in reports, and detection never fails: a missing file, a missing tool,
 * a tool that errors or hangs all just mean "nothing detected".
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import type { Message } from '../../core/types.js'
import { TOOL_TIMEOUT_MS } from './constants.js'

export interface GpuInfo {
  name: string
  driver: string
  memoryMib: number | null
}

export interface Hardware {
  cpu: { model: string; cores: number }
  gpus: GpuInfo[]
}

/** Runs a program, resolving its stdout; rejects when absent, failing or timed out. */
export type RunTool = (file: string, args: readonly string[]) => Promise<string>

export interface DetectOptions {
  cpuinfoPath?: string
  nvidiaSmi?: string
  run?: RunTool
}

export const runTool: RunTool = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: TOOL_TIMEOUT_MS, maxBuffer: 1 << 20, windowsHide: true }, (err, stdout) => {
      if (err !== null) reject(err)
      else resolve(stdout)
    })
  })

/** Detects the CPU and GPUs. Never throws. */
export async function detectHardware(opts: DetectOptions = {}): Promise<Hardware> {
  const [cpu, gpus] = await Promise.all([
    detectCpu(opts.cpuinfoPath ?? '/proc/cpuinfo'),
    detectGpus(opts.run ?? runTool, opts.nvidiaSmi ?? 'nvidia-smi'),
  ])
  return { cpu, gpus }
}

async function detectCpu(cpuinfoPath: string): Promise<Hardware['cpu']> {
  const text = await readFile(cpuinfoPath, 'utf8').catch(() => '')
  const parsed = parseCpuinfo(text)
  const cpus = os.cpus()
  return {
    model: parsed.model ?? cpus[0]?.model.trim() ?? 'unknown',
    cores: parsed.processors > 0 ? parsed.processors : cpus.length,
  }
}

/** The first `model name` (x86) or `Model`/`CPU part` line (ARM), and the processor count. */
export function parseCpuinfo(text: string): { model?: string; processors: number } {
  let model: string | undefined
  let processors = 0
  for (const line of text.split('\n')) {
    const at = line.indexOf(':')
    if (at < 0) continue
    const key = line.slice(0, at).trim().toLowerCase()
    const value = line.slice(at + 1).trim()
    if (key === 'processor') processors += 1
    if (model === undefined && (key === 'model name' || key === 'model') && value !== '' && !/^\d+$/.test(value)) model = value
  }
  return { ...(model !== undefined && { model }), processors }
}

async function detectGpus(run: RunTool, nvidiaSmi: string): Promise<GpuInfo[]> {
  try {
    const out = await run(nvidiaSmi, ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader,nounits'])
    return parseNvidiaSmi(out)
  } catch {
    return [] // no NVIDIA tool, no driver, or no GPU: nothing to report
  }
}

/** Parses `name, driver, memory` CSV lines; malformed lines are skipped. */
export function parseNvidiaSmi(csv: string): GpuInfo[] {
  const gpus: GpuInfo[] = []
  for (const line of csv.split('\n')) {
    const cells = line.split(',').map((c) => c.trim())
    if (cells.length < 2 || cells[0] === '' || cells[1] === '') continue
    const memory = Number(cells[2])
    gpus.push({ name: cells[0]!, driver: cells[1]!, memoryMib: Number.isInteger(memory) && memory > 0 ? memory : null })
  }
  return gpus
}

/** The hardware as a report value. */
export function hardwareMessage(hw: Hardware): Message {
  return {
    cpu: { model: hw.cpu.model, cores: hw.cpu.cores },
    gpus: hw.gpus.map((g): Message => ({ name: g.name, driver: g.driver, 'memory-mib': g.memoryMib })),
  }
}
