/**
 * The TEST-ONLY fault injector (devices/gpu-infer/test-fault.ts): where it changes a result, that
 * the streamed tokens follow the result in `first` mode, and that the node refuses it (and its
 * `HASHBEAM_TEST_FAULT_AT`) outside test mode.
 */
import { describe, expect, it } from 'vitest'
import { testFaulter } from '../../../devices/gpu-infer/test-fault.js'
import { defaultConfig } from '../../../node/config.js'

/** One generation through the faulter: the tokens streamed and the result's output. */
function generate(faulter: ReturnType<typeof testFaulter>, tokens: readonly string[]): { streamed: string[]; output: unknown } {
  const streamed: string[] = []
  const run = faulter.begin((text: string) => { streamed.push(text) })
  for (const t of tokens) run.onToken?.(t)
  return { streamed, output: run.finish({ output: tokens.join(''), 'finish-reason': 'length' }).output }
}

describe('test-only fault injector', () => {
  it('last: every N-th completed result has its last character changed; tokens stream untouched', () => {
    const faulter = testFaulter(2, 'last')
    expect(generate(faulter, ['ab', 'c'])).toEqual({ streamed: ['ab', 'c'], output: 'abc' })
    expect(generate(faulter, ['ab', 'c'])).toEqual({ streamed: ['ab', 'c'], output: 'abx' })
    expect(generate(faulter, ['ab', 'x'])).toEqual({ streamed: ['ab', 'x'], output: 'abx' })
    expect(generate(faulter, ['ab', 'x'])).toEqual({ streamed: ['ab', 'x'], output: 'aby' })
  })

  it('first: the first character changes in the stream and in the result alike', () => {
    const faulter = testFaulter(1, 'first')
    expect(generate(faulter, ['', 'hi', ' there'])).toEqual({ streamed: ['', 'xi', ' there'], output: 'xi there' })
    expect(generate(faulter, ['x', 'y'])).toEqual({ streamed: ['y', 'y'], output: 'yy' })
    // A code point, not half of a surrogate pair.
    expect(generate(faulter, ['😀a'])).toEqual({ streamed: ['xa'], output: 'xa' })
    const everyOther = testFaulter(2, 'first')
    expect(generate(everyOther, ['ab']).output).toBe('ab')
    expect(generate(everyOther, ['ab']).output).toBe('xb')
  })

  it('is refused outside test mode, and FAULT_AT needs FAULT_EVERY and a known place', () => {
    expect(() => defaultConfig({ HASHBEAM_TEST_FAULT_EVERY: '1', HASHBEAM_TEST_FAULT_AT: 'first' })).toThrow(/HASHBEAM_TEST_MODE=1/)
    expect(() => defaultConfig({ HASHBEAM_TEST_MODE: '1', HASHBEAM_TEST_FAULT_AT: 'first' })).toThrow(/needs HASHBEAM_TEST_FAULT_EVERY/)
    expect(() => defaultConfig({ HASHBEAM_TEST_MODE: '1', HASHBEAM_TEST_FAULT_EVERY: '1', HASHBEAM_TEST_FAULT_AT: 'middle' })).toThrow(/first or last/)
    const config = defaultConfig({ HASHBEAM_TEST_MODE: '1', HASHBEAM_TEST_FAULT_EVERY: '3', HASHBEAM_TEST_FAULT_AT: 'first' })
    expect([config.testFaultEvery, config.testFaultAt]).toEqual([3, 'first'])
    expect(defaultConfig({}).testFaultEvery).toBeUndefined()
  })
})
