// Every error code the source throws is in core/error-codes.ts and in docs/http-api.md, and the
// docs table is the one generated from the code table (`npm run docs:errors` rewrites it).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../../core/error-codes.js'
import { scanErrorCodes } from '../helpers/error-codes-scan.js'
import { withErrorTable } from '../helpers/error-table.js'

const root = join(import.meta.dirname, '../..')
const docs = readFileSync(join(root, 'docs/http-api.md'), 'utf8')

describe('error codes', () => {
  const thrown = scanErrorCodes(root)

  it('finds the codes the source throws (the scanner works)', () => {
    expect(thrown.size).toBeGreaterThan(140)
    expect(thrown.get('path-segment-too-long')).toEqual(['core/path.ts'])
    expect(thrown.has('content-digest-mismatch')).toBe(true)
  })

  it('every thrown code is in the table', () => {
    const missing = [...thrown].filter(([code]) => ERROR_CODES[code] === undefined).map(([code, files]) => `${code} (${files.join(', ')})`)
    expect(missing).toEqual([])
  })

  it('every code in the table is thrown somewhere (no stale rows)', () => {
    expect(Object.keys(ERROR_CODES).filter((code) => !thrown.has(code))).toEqual([])
  })

  it('docs/http-api.md holds the generated table (run `npm run docs:errors`)', () => {
    expect(docs).toBe(withErrorTable(docs))
    for (const code of Object.keys(ERROR_CODES)) expect(docs).toContain(`| \`${code}\` |`)
  })
})
