// Tool calls on the engine, property-tested: for generated function schemas within the
// json-schema limits, every call's arguments parse as JSON and validate against the function's
// schema (checked here by an independent validator for the generated subset, not the engine's
// own). Real llama.cpp on a generated random-weights model: a call is asked for with
// tool_choice required or a named function, and grammar-constrained generation makes it.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHATML_TOOLS_TEMPLATE } from '../../../devices/gpu-infer/constants.js'
import { checkTools } from '../../../devices/gpu-infer/engine-tools.js'
import { modelDir, rejection, testEngine, type ModelDir } from './fixtures.js'

type Schema = Record<string, unknown>
let models: ModelDir
const engine = testEngine({ contextSize: 2048, batchSize: 512 })

beforeAll(async () => {
  models = await modelDir()
  await engine.addModel('agent', await models.make('agent', { size: 'tiny', seed: 21, chatTemplate: CHATML_TOOLS_TEMPLATE }))
  await engine.addModel('plain', await models.make('plain', { size: 'tiny', seed: 22, chatTemplate: true }))
})
afterAll(async () => {
  await engine.close()
  await models.cleanup()
})

const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/)
const scalar: fc.Arbitrary<Schema> = fc.oneof(
  fc.record({ type: fc.constant('string'), maxLength: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ type: fc.constant('string'), minLength: fc.integer({ min: 1, max: 3 }), maxLength: fc.constant(6) }),
  fc.constant({ type: 'integer' }),
  fc.constant({ type: 'number' }),
  fc.constant({ type: 'boolean' }),
  fc.record({ enum: fc.uniqueArray(fc.oneof(fc.string({ maxLength: 4 }), fc.integer({ min: -9, max: 99 }), fc.boolean()), { minLength: 1, maxLength: 4, selector: (v) => JSON.stringify(v) }) }),
)
const objectOf = (value: fc.Arbitrary<Schema>): fc.Arbitrary<Schema> =>
  fc.dictionary(name, value, { minKeys: 1, maxKeys: 3 }).map((properties) => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false }))
const value: fc.Arbitrary<Schema> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('array'), items: scalar, maxItems: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: objectOf(scalar) },
)
const parameters = objectOf(value)

/** An independent check of the generated subset (types, bounds, enums, required, no extras). */
function valid(v: unknown, s: Schema): boolean {
  if (s.enum !== undefined) return (s.enum as unknown[]).some((e) => e === v)
  switch (s.type) {
    case 'string': return typeof v === 'string' && [...v].length <= (s.maxLength as number) && [...v].length >= ((s.minLength as number | undefined) ?? 0)
    case 'integer': return Number.isInteger(v)
    case 'number': return typeof v === 'number' && Number.isFinite(v)
    case 'boolean': return typeof v === 'boolean'
    case 'array': return Array.isArray(v) && v.length <= (s.maxItems as number) && v.every((x) => valid(x, s.items as Schema))
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
      const props = s.properties as Record<string, Schema>
      const keys = Object.keys(v)
      return keys.every((k) => k in props) && (s.required as string[]).every((k) => k in v) && keys.every((k) => valid((v as Schema)[k], props[k]!))
    }
    default: return false
  }
}

describe('tool calls (engine)', () => {
  it('property: every call\'s arguments parse and validate against the function\'s schema', { timeout: 120_000 }, async () => {
    let calls = 0
    await fc.assert(fc.asyncProperty(
      fc.uniqueArray(fc.record({ name, parameters }), { minLength: 1, maxLength: 3, selector: (t) => t.name }),
      fc.boolean(), fc.nat(1000),
      async (fns, named, seed) => {
        const tools = checkTools(fns, named ? { name: fns[0]!.name } : 'required', true)
        const out = await engine.chat({ model: 'agent', messages: [{ role: 'user', content: 'call' }], tools, maxTokens: 400, temperature: 0.8, seed })
        if (out.finishReason === 'length' && out.toolCalls === undefined) return // ran out of tokens before a whole call: nothing to check
        expect(out.toolCalls?.length ?? 0).toBeGreaterThan(0)
        for (const call of out.toolCalls ?? []) {
          const fn = fns.find((f) => f.name === call.name)
          expect(fn, call.name).toBeDefined()
          if (named) expect(call.name).toBe(fns[0]!.name)
          const args: unknown = JSON.parse(call.arguments)
          expect(valid(args, fn!.parameters), `${call.arguments} vs ${JSON.stringify(fn!.parameters)}`).toBe(true)
          calls++
        }
      },
    ), { numRuns: 12, seed: 0x19 })
    expect(calls).toBeGreaterThanOrEqual(6)
  })

  it('the same request gives the same calls (greedy and seeded)', async () => {
    const tools = checkTools([{ name: 'f', parameters: { type: 'object', properties: { x: { type: 'integer' }, s: { type: 'string', maxLength: 5 } } } }], 'required', false)
    for (const sampling of [{}, { temperature: 1, seed: 5 }]) {
      const req = { model: 'agent', messages: [{ role: 'user' as const, content: 'again' }], tools, maxTokens: 200, ...sampling }
      const [a, b] = [await engine.chat(req), await engine.chat(req)]
      expect(b.toolCalls).toEqual(a.toolCalls)
      expect(b.tokens).toEqual(a.tokens)
    }
  })

  it('a template without tool syntax is refused, never emulated', async () => {
    const tools = checkTools([{ name: 'f' }], 'required', true)
    expect(await rejection(engine.chat({ model: 'plain', messages: [{ role: 'user', content: 'x' }], tools }))).toMatchObject({ status: 400, code: 'tools-unsupported' })
  })
})
