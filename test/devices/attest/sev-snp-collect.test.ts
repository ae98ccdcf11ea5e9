// Collecting SEV-SNP evidence: the GHCB certificate table, the snpguest route (driven through a
// stand-in executable that behaves like snpguest's CLI), and the fall-through when nothing exists.
import { randomBytes } from 'node:crypto'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CERT_TABLE_GUIDS, collectSnp, parseCertTable } from '../../../devices/attest/tee/sev-snp-collect.js'
import { requiredPass } from '../../../devices/attest/tee/provider.js'
import { sevSnpProvider } from '../../../devices/attest/tee/sev-snp.js'
import { tempDir } from '../../helpers/node.js'
import { concat } from './helpers/ca.js'
import { amdPki, buildSnpReport, signSnpReport, type AmdPki } from './helpers/snp.js'

let pki: AmdPki
const work = tempDir('hashbeam-snpguest-')
beforeAll(async () => {
  pki = await amdPki()
})
afterAll(() => work.cleanup())

const derOf = (pem: string): Uint8Array => new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'))
const guid = (text: string, mixed: boolean): Uint8Array => {
  const hex = text.replace(/-/g, '')
  const swap = (s: string) => s.match(/../g)!.reverse().join('')
  return new Uint8Array(Buffer.from(mixed ? swap(hex.slice(0, 8)) + swap(hex.slice(8, 12)) + swap(hex.slice(12, 16)) + hex.slice(16) : hex, 'hex'))
}

function certTable(entries: Array<[Uint8Array, Uint8Array]>): Uint8Array {
  const header = 24 * (entries.length + 1)
  let offset = header
  const rows: Uint8Array[] = []
  for (const [id, body] of entries) {
    const row = new Uint8Array(24)
    row.set(id)
    new DataView(row.buffer).setUint32(16, offset, true)
    new DataView(row.buffer).setUint32(20, body.length, true)
    rows.push(row)
    offset += body.length
  }
  return concat([...rows, new Uint8Array(24), ...entries.map(([, body]) => body)])
}

describe('SEV-SNP collection', () => {
  it('reads the certificate table in either GUID byte order, VCEK first, ignoring unknown entries', () => {
    const table = certTable([
      [guid(CERT_TABLE_GUIDS.ark, false), derOf(pki.ark.pem)],
      [guid('11111111-2222-3333-4444-555555555555', false), new Uint8Array([1, 2, 3])],
      [guid(CERT_TABLE_GUIDS.vcek, true), derOf(pki.vcek.pem)],
      [guid(CERT_TABLE_GUIDS.ask, true), derOf(pki.ask.pem)],
    ])
    const pems = parseCertTable(table)
    expect(pems.map((p) => derOf(p))).toEqual([derOf(pki.vcek.pem), derOf(pki.ask.pem), derOf(pki.ark.pem)])
    expect(parseCertTable(new Uint8Array(0))).toEqual([])
    // An entry pointing outside the table, or at garbage, is left out rather than thrown on.
    const broken = certTable([[guid(CERT_TABLE_GUIDS.vcek, false), new Uint8Array([0x30, 0x03, 1, 2, 3])]])
    expect(parseCertTable(broken)).toEqual([])
  })

  it('drives snpguest: report data in, report and PEM certificates out, and the evidence verifies', async () => {
    const binding = new Uint8Array(randomBytes(32))
    const reportData = new Uint8Array(64)
    reportData.set(binding)
    const report = await signSnpReport(buildSnpReport({ reportData }), pki.vcek.keys.privateKey)
    const dir = work.dir
    writeFileSync(join(dir, 'report.bin'), report)
    writeFileSync(join(dir, 'vcek.pem'), pki.vcek.pem)
    writeFileSync(join(dir, 'ask.pem'), pki.ask.pem)
    writeFileSync(join(dir, 'ark.pem'), pki.ark.pem)
    const script = join(dir, 'snpguest')
    writeFileSync(script, [
      '#!/bin/sh',
      `D='${dir}'`,
      'case "$1" in',
      '  report) cp "$3" "$D/request-seen.bin"; cp "$D/report.bin" "$2" ;;',
      '  certificates) cp "$D/vcek.pem" "$D/ask.pem" "$D/ark.pem" "$3/" ;;',
      '  *) exit 2 ;;',
      'esac',
    ].join('\n'))
    chmodSync(script, 0o755)
    const provider = sevSnpProvider({ roots: [pki.ark.pem], intermediates: [], collect: { tsmRoot: join(dir, 'no-configfs'), snpguest: script } })
    const evidence = await provider.collect(binding)
    expect(new Uint8Array(readFileSync(join(dir, 'request-seen.bin')))).toEqual(reportData)
    expect(evidence).toMatchObject({ report: Buffer.from(report).toString('base64'), certificates: [pki.vcek.pem.trim(), pki.ask.pem.trim(), pki.ark.pem.trim()] })
    expect(requiredPass(await provider.verify(evidence!, binding))).toBe(true)
  })

  it('finds nothing without configfs-tsm or snpguest, or when snpguest fails; rejects report data of the wrong size', async () => {
    const none = { tsmRoot: '/nonexistent/tsm', snpguest: '/nonexistent/snpguest' }
    expect(await collectSnp(new Uint8Array(64), none)).toBeUndefined()
    expect(await collectSnp(new Uint8Array(64), { tsmRoot: '/nonexistent/tsm', snpguest: false })).toBeUndefined()
    expect(await collectSnp(new Uint8Array(64), { ...none, run: async () => { throw new Error('snpguest: no /dev/sev-guest') } })).toBeUndefined()
    await expect(collectSnp(new Uint8Array(32), none)).rejects.toThrow(/64 bytes/)
  })
})
