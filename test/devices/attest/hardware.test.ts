// Hardware detection: parsing /proc/cpuinfo and nvidia-smi, and never failing when either is
// missing, broken or slow.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { detectHardware, hardwareMessage, parseCpuinfo, parseNvidiaSmi } from '../../../devices/attest/hardware.js'
import { tempDir } from '../../helpers/node.js'

const cleanups: Array<() => void> = []
afterEach(() => cleanups.splice(0).forEach((c) => c()))

const X86 = 'processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 1\nmodel name\t: AMD EPYC 7763 64-Core Processor\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7763 64-Core Processor\n'
const ARM = 'processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n\nprocessor\t: 1\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n'

describe('hardware', () => {
  it('reads the CPU model and processor count from cpuinfo (x86 "model name", ARM "Model")', () => {
    expect(parseCpuinfo(X86)).toEqual({ model: 'AMD EPYC 7763 64-Core Processor', processors: 2 })
    expect(parseCpuinfo(ARM)).toEqual({ model: 'Raspberry Pi 4 Model B Rev 1.4', processors: 2 })
    expect(parseCpuinfo('')).toEqual({ processors: 0 })
  })

  it('parses nvidia-smi CSV and skips malformed lines', () => {
    const csv = 'NVIDIA H200, 570.86.15, 143771\nNVIDIA H100 80GB HBM3, 550.90.07, [N/A]\n\n, , \njunk\n'
    expect(parseNvidiaSmi(csv)).toEqual([
      { name: 'NVIDIA H200', driver: '570.86.15', memoryMib: 143771 },
      { name: 'NVIDIA H100 80GB HBM3', driver: '550.90.07', memoryMib: null },
    ])
  })

  it('detects from a given cpuinfo and nvidia-smi, asking for exactly the three columns', async () => {
    const { dir, cleanup } = tempDir()
    cleanups.push(cleanup)
    writeFileSync(join(dir, 'cpuinfo'), X86)
    const calls: Array<[string, readonly string[]]> = []
    const hw = await detectHardware({
      cpuinfoPath: join(dir, 'cpuinfo'),
      run: async (file, args) => {
        calls.push([file, args])
        return 'NVIDIA H200, 570.86.15, 143771\n'
      },
    })
    expect(hw).toEqual({ cpu: { model: 'AMD EPYC 7763 64-Core Processor', cores: 2 }, gpus: [{ name: 'NVIDIA H200', driver: '570.86.15', memoryMib: 143771 }] })
    expect(calls).toEqual([['nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader,nounits']]])
    expect(hardwareMessage(hw)).toEqual({
      cpu: { model: 'AMD EPYC 7763 64-Core Processor', cores: 2 },
      gpus: [{ name: 'NVIDIA H200', driver: '570.86.15', 'memory-mib': 143771 }],
    })
  })

  it('never fails: no cpuinfo falls back to os.cpus(), a missing or failing nvidia-smi means no GPUs', async () => {
    const missingTool = await detectHardware({ cpuinfoPath: '/nonexistent/cpuinfo', nvidiaSmi: '/nonexistent/nvidia-smi' })
    expect(missingTool.gpus).toEqual([])
    expect(missingTool.cpu.model).not.toBe('')
    expect(missingTool.cpu.cores).toBeGreaterThan(0)
    const failing = await detectHardware({ run: async () => { throw new Error('NVIDIA-SMI has failed because it could not communicate with the driver') } })
    expect(failing.gpus).toEqual([])
  })
})
