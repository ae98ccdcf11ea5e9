/**
 * Our deep hash against the published vectors (Irys arbundles deepHash.spec) and, for random
 * chunk trees, against @dha-team/arbundles' implementation; our Avro tag codec against
 * arbundles' serializeTags/deserializeTags.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { deepHash as referenceDeepHash, deserializeTags, serializeTags } from '@dha-team/arbundles'
import { decodeTags, deepHash, encodeTags, type DeepHashChunk } from '../../../devices/ans104/index.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('deepHash', () => {
  it('matches the published vectors', () => {
    expect(hex(deepHash(Uint8Array.of(1, 2, 3)))).toBe(
      '41300af79285f856e833164518c7ec4974f5869ec77ca3458113fe6c587680d050f9f6864fd77f9eb62bd4e2faea9ae8',
    )
    expect(hex(deepHash(new Uint8Array()))).toBe(
      'fbf00cc444f5fea9dc3bedf62a13fba8ae87e7445fc910567a23bec4eb82fadb1143c433069314d8362983dc3c2e4a38',
    )
  })

  it('tells a blob from a list holding it', () => {
    expect(hex(deepHash([Uint8Array.of(1)]))).not.toBe(hex(deepHash(Uint8Array.of(1))))
  })

  it('agrees with arbundles on random chunk trees', async () => {
    const tree: fc.Arbitrary<DeepHashChunk> = fc.letrec<{ node: DeepHashChunk }>((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true },
        fc.uint8Array({ maxLength: 300 }),
        fc.array(tie('node'), { maxLength: 5 })),
    })).node
    await fc.assert(fc.asyncProperty(tree, async (chunk) => {
      expect(hex(deepHash(chunk))).toBe(hex(await referenceDeepHash(chunk as never)))
    }), { numRuns: 200 })
  })
})

describe('Avro tags', () => {
  const tags = fc.array(fc.record({ name: fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }), value: fc.string({ maxLength: 200, unit: 'binary' }) }), { maxLength: 12 })

  it('encodes exactly as arbundles does and decodes arbundles\' bytes', () => {
    fc.assert(fc.property(tags, (list) => {
      const ours = encodeTags(list)
      expect(hex(ours)).toBe(hex(serializeTags(list)))
      expect(decodeTags(ours)).toEqual(deserializeTags(Buffer.from(ours)))
    }), { numRuns: 300 })
  })

  it('reads the negative-count block form and rejects stray or invalid bytes', () => {
    // Avro: count -1 (zig-zag 0x01), block size, then one record; terminated by 0.
    const block = [0x02, 0x61, 0x02, 0x62]
    expect(decodeTags(Uint8Array.from([0x01, block.length * 2, ...block, 0x00]))).toEqual([{ name: 'a', value: 'b' }])
    const codeOf = (bytes: number[]) => {
      try {
        decodeTags(Uint8Array.from(bytes))
        return 'decoded'
      } catch (err) {
        return (err as { code: string }).code
      }
    }
    expect(codeOf([0x02, ...block, 0x00, 0x07])).toBe('ans104-invalid-tags')
    expect(codeOf([0x02, 0x61, 0x02])).toBe('ans104-invalid-tags')
    expect(codeOf([0x02, 0x02, 0xff, 0x02, 0x62, 0x00])).toBe('ans104-invalid-tags')
  })
})
