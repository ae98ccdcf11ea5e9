// The IPLD codec fixtures (../shared/fixtures/ipld-codec-fixtures): every dag-cbor block decodes
// and re-encodes to its CID; every negative fixture is rejected with our typed error.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { sha256 } from '@noble/hashes/sha2.js'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { expect, it } from 'vitest'
import { DAG_CBOR_CODE, decodeCanonical, encodeCanonical } from '../../core/codec.js'
import { describeWithFixtures } from '../helpers/fixtures.js'

describeWithFixtures('conformance: ipld-codec-fixtures dag-cbor', 'ipld-codec-fixtures', (dir) => {
  const fixtures = readdirSync(join(dir, 'fixtures'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).flatMap((name) =>
    readdirSync(join(dir, 'fixtures', name))
      .filter((file) => file.endsWith('.dag-cbor'))
      .map((file) => ({ name, file: join(dir, 'fixtures', name, file), cid: file.slice(0, -'.dag-cbor'.length) })),
  )

  it('found the fixtures', () => {
    expect(fixtures.length).toBeGreaterThan(100)
  })

  it.each(fixtures)('$name decodes and re-encodes to its CID', ({ file, cid }) => {
    const bytes = new Uint8Array(readFileSync(file))
    const again = encodeCanonical(decodeCanonical(bytes))
    const recomputed = CID.createV1(DAG_CBOR_CODE, Digest.create(0x12, sha256(again)))
    expect(recomputed.toString()).toBe(cid)
  })

  const negatives = readdirSync(join(dir, 'negative-fixtures', 'dag-cbor', 'decode')).flatMap((file) =>
    (JSON.parse(readFileSync(join(dir, 'negative-fixtures', 'dag-cbor', 'decode', file), 'utf8')) as Array<{ name: string; hex: string }>),
  )
  it.each(negatives)('rejects: $name', ({ hex }) => {
    expect(() => decodeCanonical(new Uint8Array(Buffer.from(hex, 'hex')))).toThrow(expect.objectContaining({ status: 400, code: 'invalid-message' }))
  })
})
