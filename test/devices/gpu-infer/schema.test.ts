/**
 * JSON-schema checking and bounding (pure; the real-model JSON test is in engine.test.ts).
 */
import { describe, expect, it } from 'vitest'
import { boundJsonSchema, tightenNumberRules } from '../../../devices/gpu-infer/engine-schema.js'
import { LIMITS } from '../../../devices/gpu-infer/constants.js'

const codeOf = (f: () => unknown): string | undefined => {
  try { f() } catch (err) { return (err as { code?: string }).code }
  return undefined
}

describe('boundJsonSchema', () => {
  it('rejects what node-llama-cpp would silently ignore', () => {
    for (const bad of [
      null, 5, 'x', [], { type: 'foo' }, { type: [] }, { type: ['string', 'string'] },
      { type: 'string', pattern: '^a' }, { type: 'number', minimum: 1 }, { enum: [] }, { enum: [{}] },
      { const: [1] }, { oneOf: [] }, { $ref: '#/defs/x' }, { $ref: '#/$defs/missing' },
      { type: 'string', minLength: 5, maxLength: 2 }, { type: 'array', maxItems: -1 },
      { type: 'object', properties: { a: { type: 'string' } }, required: ['b'] },
      { type: 'string', format: 'email' }, { type: 'object', properties: 3 },
    ]) {
      expect(codeOf(() => boundJsonSchema(bad)), JSON.stringify(bad)).toBe('invalid-json-schema')
    }
  })

  it('caps unbounded strings and arrays, keeps explicit bounds', () => {
    const out = boundJsonSchema({
      type: 'object',
      properties: { s: { type: 'string' }, t: { type: 'string', maxLength: 3 }, a: { type: 'array', items: { type: 'integer' } } },
    }) as { properties: Record<string, Record<string, unknown>> }
    expect(out.properties.s).toEqual({ type: 'string', maxLength: LIMITS.schemaStringCap })
    expect(out.properties.t).toEqual({ type: 'string', maxLength: 3 })
    expect(out.properties.a).toMatchObject({ type: 'array', maxItems: LIMITS.schemaArrayCap, items: { type: 'integer' } })
  })

  it('turns "any" slots into bounded scalars, anyOf into oneOf, type lists into oneOf', () => {
    expect(boundJsonSchema({})).toHaveProperty('oneOf')
    const arr = boundJsonSchema({ type: 'array' }) as { items: { oneOf: Array<Record<string, unknown>> } }
    expect(arr.items.oneOf[0]).toEqual({ type: 'string', maxLength: LIMITS.schemaStringCap })
    expect(boundJsonSchema({ anyOf: [{ type: 'boolean' }, { type: 'null' }] })).toEqual({ oneOf: [{ type: 'boolean' }, { type: 'null' }] })
    expect(boundJsonSchema({ type: ['string', 'null'] })).toEqual({ oneOf: [{ type: 'string', maxLength: LIMITS.schemaStringCap }, { type: 'null' }] })
    const obj = boundJsonSchema({ type: 'object', additionalProperties: true }) as Record<string, unknown>
    expect(obj.additionalProperties).toHaveProperty('oneOf')
    expect(obj.maxProperties).toBe(LIMITS.schemaArrayCap)
  })

  it('infers object from the {properties, required} shorthand and keeps $defs/$ref', () => {
    const out = boundJsonSchema({
      $defs: { name: { type: 'string', maxLength: 4 } },
      properties: { n: { $ref: '#/$defs/name' } }, required: ['n'], description: 'd', title: 'dropped',
    })
    expect(out).toEqual({
      description: 'd', $defs: { name: { type: 'string', maxLength: 4 } },
      type: 'object', properties: { n: { $ref: '#/$defs/name' } }, required: ['n'],
    })
  })

  it('limits nesting depth', () => {
    let deep: Record<string, unknown> = { type: 'null' }
    for (let i = 0; i < LIMITS.maxSchemaDepth + 2; i++) deep = { type: 'array', items: deep }
    expect(codeOf(() => boundJsonSchema(deep))).toBe('invalid-json-schema')
  })
})

describe('tightenNumberRules', () => {
  it('drops integer exponents and caps float exponents', () => {
    const grammar = [
      'root ::= integer-number-rule',
      'integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15}) ([eE] [-+]? ("0" | [1-9] [0-9]{0,15}))?',
      'fractional-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? ("0" | [1-9] [0-9]{0,15}))?',
    ].join('\n')
    const out = tightenNumberRules(grammar).split('\n')
    expect(out[0]).toBe('root ::= integer-number-rule')
    expect(out[1]).toBe('integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15})')
    expect(out[2]).toBe('fractional-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?')
    expect(tightenNumberRules('root ::= "x"')).toBe('root ::= "x"')
  })
})
