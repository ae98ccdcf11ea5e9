/**
 * The CLI's parser takes the next word as an option's value even when it starts with `-`:
 * base64url wallet addresses do one time in 64, and node:util's parseArgs refused them, so a
 * node started with such an `--operator` (or `--trust`, `--admit`) exited before listening.
 */
import { describe, expect, it } from 'vitest'
import { parseArgs } from '../../node/cli-args.js'

const options = {
  operator: { type: 'string' }, trust: { type: 'string', multiple: true }, json: { type: 'boolean' }, out: { type: 'string', short: 'o' },
} as const

describe('cli parseArgs', () => {
  it('takes an address that starts with a dash as the value of a string option', () => {
    const { values } = parseArgs({ args: ['--operator', '-Abc_x', '--trust', '--9z', '--trust', 'plain', '-o', '-f.json', '--json'], options })
    expect({ ...values }).toEqual({ operator: '-Abc_x', trust: ['--9z', 'plain'], out: '-f.json', json: true })
  })

  it('still refuses a missing value when the next word is a known option', () => {
    expect(() => parseArgs({ args: ['--operator', '--json'], options })).toThrow(/ambiguous/)
  })

  it('leaves words after -- and the = form alone', () => {
    const { values, positionals } = parseArgs({ args: ['--operator=-x', '--', '--trust', '-y'], options, allowPositionals: true })
    expect({ ...values }).toEqual({ operator: '-x' })
    expect(positionals).toEqual(['--trust', '-y'])
  })
})
