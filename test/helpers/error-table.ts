/**
 * @module
 * Renders core/error-codes.ts as the Markdown table of docs/http-api.md ("Every code"), and
 * writes it there with `npm run docs:errors`. test/core/error-codes.test.ts checks that the
 * docs hold exactly this rendering.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ERROR_CODES } from '../../core/error-codes.js'

export const BEGIN = '<!-- error-codes:begin (generated from core/error-codes.ts by `npm run docs:errors`) -->'
export const END = '<!-- error-codes:end -->'

const statusText = (status: number | readonly number[] | null): string =>
  status === null ? 'startup' : typeof status === 'number' ? String(status) : status.join(', ')

const sortKey = (status: number | readonly number[] | null): number =>
  status === null ? 1000 : typeof status === 'number' ? status : status[0]!

/** The table, sorted by status then code. */
export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CODES)
    .sort(([a, x], [b, y]) => sortKey(x.status) - sortKey(y.status) || (a < b ? -1 : 1))
    .map(([code, { status, meaning }]) => `| \`${code}\` | ${statusText(status)} | ${meaning} |`)
  return [BEGIN, '| code | status | meaning |', '| --- | --- | --- |', ...rows, END].join('\n')
}

/** docs/http-api.md with its generated section replaced by the current table. */
export function withErrorTable(markdown: string): string {
  const start = markdown.indexOf(BEGIN)
  const end = markdown.indexOf(END)
  if (start === -1 || end === -1) throw new Error(`error-table: markers missing in docs/http-api.md`)
  return markdown.slice(0, start) + renderErrorTable() + markdown.slice(end + END.length)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Compiled to dist/test/helpers/: the repository root is three folders up.
  const docs = join(fileURLToPath(import.meta.url), '../../../../docs/http-api.md')
  writeFileSync(docs, withErrorTable(readFileSync(docs, 'utf8')))
  process.stdout.write(`error-table: wrote ${Object.keys(ERROR_CODES).length} codes to docs/http-api.md\n`)
}
