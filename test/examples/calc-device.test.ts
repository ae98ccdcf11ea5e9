// The test of the worked example in docs/writing-a-device.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error -- a plain JavaScript example module without type declarations
import calcDevice from '../../examples/calc-device.js'
import type { Device } from '../../core/types.js'
import type { HashbeamNode } from '../../node/index.js'
import { deviceCompliance } from '../helpers/device-suite.js'
import { testNode } from '../helpers/node.js'

const make = () => (calcDevice as () => Device)()

describe('calc@1.0', () => {
  deviceCompliance({ make, samplePath: '/~calc@1.0/add&a+integer=2&b+integer=3' })

  let node: HashbeamNode
  beforeAll(async () => {
    node = await testNode({ config: { devicePaths: ['examples/calc-device.js'] } })
  })
  afterAll(() => node.stop())
  const call = async (path: string) => {
    const res = await node.app.request(path)
    return { status: res.status, body: await res.json() }
  }

  it('adds typed integers: 2 + 3 = 5', async () => {
    expect(await call('/~calc@1.0/add&a+integer=2&b+integer=3')).toEqual({ status: 200, body: 5 })
  })
  it('works on floats and mixes', async () => {
    expect(await call('/~calc@1.0/mul&a+float=1.5&b+integer=4')).toEqual({ status: 200, body: 6 })
    expect(await call('/~calc@1.0/div&a+integer=7&b+integer=2')).toEqual({ status: 200, body: 3.5 })
    expect(await call('/~calc@1.0/sub&a+integer=2&b+float=0.5')).toEqual({ status: 200, body: 1.5 })
  })
  it('division by zero is a 422 with a clear message', async () => {
    expect(await call('/~calc@1.0/div&a+integer=1&b+integer=0')).toMatchObject({ status: 422, body: { code: 'division-by-zero', message: 'calc: division by zero' } })
  })
  it('an untyped operand is a 422 that says how to fix it', async () => {
    expect(await call('/~calc@1.0/add&a=2&b+integer=3')).toMatchObject({ status: 422, body: { code: 'calc-operand', message: expect.stringContaining('a+integer=2') } })
  })
})
