// docs/hashpath.md is the single source of the worked example: this test reads its `json vectors`
// block and recomputes every line, so the page and the code cannot drift apart.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hashpathOf, nextHashpath, type HashpathAlg } from '../../core/hashpath.js'
import { idOf } from '../../core/id.js'
import type { Message } from '../../core/types.js'
import { REPO_ROOT } from '../helpers/process.js'

interface Vector { message?: Message; id?: string; base?: string; request?: Message; part?: string; alg?: HashpathAlg; hashpath?: string }

const page = readFileSync(join(REPO_ROOT, 'docs/hashpath.md'), 'utf8')
const block = /```json vectors\n([\s\S]*?)```/.exec(page)?.[1] ?? '[]'
const vectors = JSON.parse(block) as Vector[]

describe('docs/hashpath.md vectors', () => {
  it('has vectors', () => expect(vectors.length).toBeGreaterThanOrEqual(8))
  it.each(vectors.map((v, i) => [i, v] as const))('vector %i', (_i, v) => {
    if (v.message !== undefined) expect(idOf(v.message)).toBe(v.id)
    else if (v.request !== undefined) expect(hashpathOf(v.base ?? '', v.request, v.alg)).toBe(v.hashpath)
    else expect(nextHashpath(v.base ?? '', v.part ?? '', v.alg)).toBe(v.hashpath)
  })
  it('every ID and hashpath printed on the page is one the vectors check', () => {
    const printed = new Set(page.match(/[A-Za-z0-9_-]{43}/g))
    const checked = new Set(block.match(/[A-Za-z0-9_-]{43}/g))
    for (const id of printed) expect(checked.has(id), `${id} appears on the page but in no vector`).toBe(true)
  })
})
