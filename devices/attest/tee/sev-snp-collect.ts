/**
 * @module
 * Getting an SEV-SNP report out of this machine, by the first route that exists:
 *
 * 1. configfs-tsm (Linux ≥ 6.7): mkdir /sys/kernel/config/tsm/report/<name>, check `provider`
 *    is `sev_guest`, write the 64-byte report data to `inblob`, read the report from `outblob`
 *    and the host-supplied certificate table (VCEK, ASK, ARK) from `auxblob`, rmdir.
 * 2. the `snpguest` tool (virtee), which talks to /dev/sev-guest: `snpguest report <out> <in>`
 *    and `snpguest certificates pem <dir>` for the certificates the host provides. Node cannot
 *    issue the /dev/sev-guest ioctl itself without a native addon, so the device file alone is
 *    not a route.
 *
 * No route, or a route that fails, gives `undefined`: a node outside a confidential VM simply
 * has no SNP evidence. Nothing here fetches from AMD's KDS; a report without certificates then
 * fails the chain check when verified (see FetchSeam).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runTool, type RunTool } from '../hardware.js'
import { SNP_REPORT_SIZE } from './sev-snp-report.js'
import { parseCertificate } from './x509.js'

export interface SnpCollectOptions {
  /** configfs-tsm report directory (default /sys/kernel/config/tsm/report). */
  tsmRoot?: string
  /** The snpguest executable (default `snpguest` on PATH); `false` disables this route. */
  snpguest?: string | false
  run?: RunTool
}

export interface SnpEvidence {
  report: Uint8Array
  /** PEM certificates, VCEK (or VLEK) first. */
  certificates: string[]
}

/** Collects a report over `reportData` (64 bytes), or undefined when there is no SNP guest. */
export async function collectSnp(reportData: Uint8Array, opts: SnpCollectOptions = {}): Promise<SnpEvidence | undefined> {
  if (reportData.length !== 64) throw new Error('SEV-SNP report data is 64 bytes')
  const viaTsm = await viaConfigfs(reportData, opts.tsmRoot ?? '/sys/kernel/config/tsm/report').catch(() => undefined)
  if (viaTsm !== undefined) return viaTsm
  if (opts.snpguest === false) return undefined
  return viaSnpguest(reportData, opts.snpguest ?? 'snpguest', opts.run ?? runTool).catch(() => undefined)
}

async function viaConfigfs(reportData: Uint8Array, root: string): Promise<SnpEvidence | undefined> {
  const dir = path.join(root, `hashbeam-${process.pid}-${Date.now().toString(36)}`)
  await mkdir(dir) // configfs populates the entry's files on mkdir
  try {
    const provider = (await readFile(path.join(dir, 'provider'), 'utf8')).trim()
    if (provider !== 'sev_guest') return undefined
    await writeFile(path.join(dir, 'inblob'), reportData)
    const report = new Uint8Array(await readFile(path.join(dir, 'outblob')))
    if (report.length !== SNP_REPORT_SIZE) return undefined
    const aux = await readFile(path.join(dir, 'auxblob')).catch(() => Buffer.alloc(0))
    return { report, certificates: parseCertTable(new Uint8Array(aux)) }
  } finally {
    await rmdir(dir).catch(() => undefined)
  }
}

async function viaSnpguest(reportData: Uint8Array, snpguest: string, run: RunTool): Promise<SnpEvidence | undefined> {
  const work = await mkdtemp(path.join(tmpdir(), 'hashbeam-snp-'))
  try {
    const request = path.join(work, 'request.bin')
    const out = path.join(work, 'report.bin')
    await writeFile(request, reportData)
    await run(snpguest, ['report', out, request])
    const report = new Uint8Array(await readFile(out))
    if (report.length !== SNP_REPORT_SIZE) return undefined
    const certDir = path.join(work, 'certs')
    await mkdir(certDir)
    await run(snpguest, ['certificates', 'pem', certDir]).catch(() => undefined)
    return { report, certificates: await readCertDir(certDir) }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** snpguest names its files vcek.pem / vlek.pem, ask.pem (or asvk.pem), ark.pem. */
async function readCertDir(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  const order = ['vcek.pem', 'vlek.pem', 'ask.pem', 'asvk.pem', 'ark.pem']
  const out: string[] = []
  for (const name of order) {
    if (names.includes(name)) out.push((await readFile(path.join(dir, name), 'utf8')).trim())
  }
  return out
}

/** GUIDs of the GHCB certificate table, in their RFC 4122 text form. */
export const CERT_TABLE_GUIDS = {
  vcek: '63da758d-e664-4564-adc5-f4b93be8accd',
  vlek: 'a8074bc2-a25a-483e-aae6-39c045a0b8a1',
  ask: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ark: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
} as const

const guidBytes = (text: string, mixedEndian: boolean): string => {
  const hex = text.replace(/-/g, '')
  if (!mixedEndian) return hex
  const swap = (s: string): string => s.match(/../g)!.reverse().join('')
  return swap(hex.slice(0, 8)) + swap(hex.slice(8, 12)) + swap(hex.slice(12, 16)) + hex.slice(16)
}

/**
 * Parses a certificate table: 24-byte entries {guid[16], offset u32, length u32} ended by an
 * all-zero entry, offsets from the table's start. Implementations disagree on the GUID byte
 * order (RFC vs EFI mixed-endian), so both are accepted. Returns PEMs, VCEK/VLEK first, then
 * ASK, then ARK; unknown entries are ignored.
 */
export function parseCertTable(table: Uint8Array): string[] {
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength)
  const found = new Map<string, string>()
  for (let at = 0; at + 24 <= table.length; at += 24) {
    const guid = Buffer.from(table.subarray(at, at + 16)).toString('hex')
    const offset = view.getUint32(at + 16, true)
    const length = view.getUint32(at + 20, true)
    if (/^0+$/.test(guid) && offset === 0 && length === 0) break
    const kind = (Object.keys(CERT_TABLE_GUIDS) as Array<keyof typeof CERT_TABLE_GUIDS>)
      .find((k) => guidBytes(CERT_TABLE_GUIDS[k], false) === guid || guidBytes(CERT_TABLE_GUIDS[k], true) === guid)
    if (kind === undefined || offset + length > table.length || length === 0) continue
    try {
      found.set(kind, parseCertificate(table.subarray(offset, offset + length)).toString('pem'))
    } catch {
      // An unreadable entry is left out; the chain check will say what is missing.
    }
  }
  return (['vcek', 'vlek', 'ask', 'ark'] as const).flatMap((k) => (found.has(k) ? [found.get(k)!] : []))
}
