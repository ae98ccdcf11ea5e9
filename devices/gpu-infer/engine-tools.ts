/**
 * @module
 * Tool calls (OpenAI function calling) in the model's own chat template.
 *
 * The template decides the syntax: node-llama-cpp's Jinja wrapper renders the tools into the
 * prompt and extracts how the template writes a call (`prefix` name `paramsPrefix` arguments
 * `suffix`, e.g. `<tool_call>\n{"name": "` … `", "arguments": ` … `}\n</tool_call>`). A model
 * whose template has no tool syntax is refused (400 `tools-unsupported`): nothing is emulated.
 *
 * A call is generated in phases on one sequence, each a plain `generate` with its own grammar,
 * so the output holds by construction:
 * - `auto`: free text, with the call prefix as a stop; if the model writes it, the text before
 *   is the content, the sequence is rewound to the prompt and the content and prefix are fed
 *   back as tokens (one canonical history, whatever tokens spelled the prefix);
 * - `required` / a named function: the prefix is fed directly (no choice is left to the model);
 * - the name: a grammar of the tool names (a named choice feeds the name);
 * - the arguments: the function's JSON-schema grammar, with the `json-schema` limits, so they
 *   parse and validate; then the suffix is fed;
 * - with `parallel_tool_calls` and a template that writes several calls, a grammar of "another
 *   prefix or nothing" lets the model add a call (at most LIMITS.maxToolCalls).
 * Every fed fragment counts against max-tokens like a sampled token. A call cut by max-tokens is
 * dropped (finish `length`). The phases are deterministic, so replay re-derives the calls.
 */
import { LlamaText, type ChatModelFunctions, type ChatWrapper, type ChatWrapperSettings, type GbnfJsonSchema, type LlamaGrammar, type Token } from 'node-llama-cpp'
import { InvalidRequestError } from '../../core/errors.js'
import { LIMITS } from './constants.js'
import { generate, type GenerateInput, type GenerateOutput, type TokenLogprob } from './engine-generate.js'
import type { RenderedPrompt } from './engine-prompt.js'
import { boundJsonSchema } from './engine-schema.js'
import type { JsonGrammar } from './schema-compiler.js'

export interface ToolDefinition {
  name: string
  description?: string
  /** The function's parameters: a JSON schema of an object (the caller's, as sent). */
  parameters: unknown
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string }

export interface ToolsRequest {
  tools: ToolDefinition[]
  toolChoice: ToolChoice
  parallelToolCalls: boolean
}

export interface ToolCall {
  name: string
  /** JSON text of the arguments (parses, and validates against the function's schema). */
  arguments: string
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/

const bad = (code: string, param: string, message: string): never => {
  throw new InvalidRequestError(`gpu-infer: ${message}`, { code, detail: { param } })
}

/** Checks tools before anything is queued: names, schemas (bounded as `json-schema`), the choice. */
export function checkTools(tools: unknown, choice: unknown, parallel: unknown): ToolsRequest {
  if (!Array.isArray(tools) || tools.length === 0 || tools.length > LIMITS.maxTools) bad('invalid-tools', 'tools', `tools must be a list of 1 to ${LIMITS.maxTools} functions`)
  const seen = new Set<string>()
  const list = (tools as unknown[]).map((t, i): ToolDefinition => {
    const param = `tools[${i}].function`
    if (typeof t !== 'object' || t === null) return bad('invalid-tools', param, `${param} must be an object`)
    const { name, description, parameters } = t as Record<string, unknown>
    if (typeof name !== 'string' || !NAME.test(name)) bad('invalid-tools', `${param}.name`, `${param}.name must be 1–64 of a-z, A-Z, 0-9, _ and -`)
    if (seen.has(name as string)) bad('invalid-tools', `${param}.name`, `function "${name as string}" is listed twice`)
    seen.add(name as string)
    if (description !== undefined && typeof description !== 'string') bad('invalid-tools', `${param}.description`, `${param}.description must be a string`)
    const schema = parameters ?? { type: 'object', properties: {} }
    let bounded: Record<string, unknown>
    try {
      bounded = boundJsonSchema(schema)
    } catch (err) {
      const e = err as InvalidRequestError
      throw new InvalidRequestError(`${e.message} (${param}.parameters)`, { code: e.code, detail: { ...e.detail, param: `${param}.parameters` }, cause: err })
    }
    if (bounded.type !== 'object') bad('invalid-tools', `${param}.parameters`, `${param}.parameters must be a schema of type object (arguments are a JSON object)`)
    return { name: name as string, ...(description === undefined ? {} : { description: description as string }), parameters: schema }
  })
  let toolChoice: ToolChoice = 'auto'
  if (choice !== undefined) {
    if (choice === 'auto' || choice === 'none' || choice === 'required') toolChoice = choice
    else if (typeof choice === 'object' && choice !== null && typeof (choice as { name?: unknown }).name === 'string' && seen.has((choice as { name: string }).name)) {
      toolChoice = { name: (choice as { name: string }).name }
    } else bad('invalid-tool-choice', 'tool_choice', 'tool_choice must be auto, none, required or {type: function, function: {name}} of a listed function')
  }
  if (parallel !== undefined && typeof parallel !== 'boolean') bad('invalid-tools', 'parallel_tool_calls', 'parallel_tool_calls must be true or false')
  return { tools: list, toolChoice, parallelToolCalls: parallel !== false }
}

/** The template's call syntax; 400 when the model's template has none. */
export function callSyntaxOf(wrapper: ChatWrapper | null): ChatWrapperSettings['functions'] {
  const jinja = wrapper as (ChatWrapper & { usingJinjaFunctionCallTemplate?: boolean }) | null
  if (jinja?.usingJinjaFunctionCallTemplate !== true) {
    return bad('tools-unsupported', 'tools', "the model's chat template has no tool-call syntax (no `tools` in its Jinja template); tools are never emulated")
  }
  return jinja.settings.functions
}

/** node-llama-cpp's function list for rendering the tools into the prompt. */
export function availableFunctions(req: ToolsRequest): ChatModelFunctions {
  // The caller's schema, as sent: the prompt documents what the caller wrote.
  return Object.fromEntries(req.tools.map((t) => [t.name, { ...(t.description === undefined ? {} : { description: t.description }), params: t.parameters as GbnfJsonSchema }]))
}

/** A GBNF string literal (JSON escapes are GBNF escapes for what JSON.stringify writes). */
const literal = (text: string) => JSON.stringify(text)

export interface TurnInput extends Omit<GenerateInput, 'prompt' | 'grammar' | 'grammarStops' | 'trimEnd'> {
  prompt: RenderedPrompt
  tools: ToolsRequest
  syntax: ChatWrapperSettings['functions']
  createGrammar(gbnf: string): Promise<LlamaGrammar>
  argumentsGrammar(name: string): Promise<JsonGrammar>
}

export interface TurnOutput extends GenerateOutput {
  calls: ToolCall[]
}

/** One assistant turn that may call tools (see the module comment). */
export async function generateTurn(input: TurnInput): Promise<TurnOutput> {
  const { model, sequence, tools, syntax } = input
  const text = (v: unknown) => LlamaText(v as Parameters<typeof LlamaText>[0]).toString()
  const tokensOf = (v: unknown): Token[] => LlamaText(v as Parameters<typeof LlamaText>[0]).tokenize(model.tokenizer, 'trimLeadingSpace')
  const promptLength = input.prompt.tokens.length
  const tokens: Token[] = []
  const logprobs: TokenLogprob[] | undefined = input.logprobs === undefined ? undefined : []
  const calls: ToolCall[] = []
  let feed: Token[] = input.prompt.tokens
  let last: GenerateOutput | undefined
  let firstTokenAt: number | undefined
  const budget = () => input.maxTokens - tokens.length
  const done = (finishReason: GenerateOutput['finishReason'], output: string): TurnOutput => ({
    ...(last ?? { endedAt: performance.now() }), output, tokens, finishReason, calls,
    ...(firstTokenAt === undefined ? {} : { firstTokenAt }), ...(logprobs === undefined ? {} : { logprobs }),
  })

  /** Generates from `feed` on; afterwards `feed` holds what the sequence has not evaluated yet. */
  const phase = async (opts: Pick<GenerateInput, 'grammar' | 'grammarStops' | 'trimEnd' | 'onToken'> & { stop?: readonly string[] }) => {
    const before = sequence.nextTokenIndex + feed.length
    const gen = await generate({
      ...input, prompt: { ...input.prompt, tokens: feed }, maxTokens: budget(), stop: opts.stop ?? [],
      ...(opts.grammar === undefined ? {} : { grammar: opts.grammar }), ...(opts.grammarStops === undefined ? {} : { grammarStops: opts.grammarStops }),
      ...(opts.trimEnd === undefined ? {} : { trimEnd: opts.trimEnd }), ...(opts.onToken === undefined ? {} : { onToken: opts.onToken }),
    } as GenerateInput)
    last = gen
    firstTokenAt ??= gen.firstTokenAt
    tokens.push(...gen.tokens)
    if (logprobs !== undefined) logprobs.push(...(gen.logprobs ?? []))
    // A generation that ended on a stop string never evaluated its last token: feed it next.
    const unevaluated = before + gen.tokens.length - sequence.nextTokenIndex
    feed = unevaluated > 0 ? gen.tokens.slice(-unevaluated) : []
    return gen
  }
  /** Feeds a fixed fragment; false when max-tokens cannot hold it. */
  const force = (fragment: Token[]): boolean => {
    if (fragment.length > budget()) return false
    feed = [...feed, ...fragment]
    tokens.push(...fragment)
    return true
  }

  let content = ''
  const choice = tools.toolChoice
  if (choice === 'none' || choice === 'auto') {
    const trigger = text(syntax.call.prefix).trimStart()
    const gen = await phase({ stop: input.stop, ...(choice === 'auto' ? { grammarStops: [trigger] } : {}), ...(input.onToken === undefined ? {} : { onToken: input.onToken }) })
    if (choice === 'none' || gen.matchedStop !== trigger || gen.finishReason !== 'stop' || gen.sinkError !== undefined) return done(gen.finishReason, gen.output)
    content = gen.output
    // Rewind to the prompt; the content and the prefix go in as the template would write them.
    await sequence.eraseContextTokenRanges([{ start: promptLength, end: sequence.nextTokenIndex }])
    tokens.length = 0
    feed = content === '' ? [] : model.tokenize(content, false, 'trimLeadingSpace')
    tokens.push(...feed)
  }
  if (!force(tokensOf(syntax.call.prefix))) return done('length', content)
  const names = tools.tools.map((t) => t.name)
  const nameGrammar = typeof choice === 'object' ? undefined : await input.createGrammar(`root ::= (${names.map(literal).join(' | ')})`)
  const another = syntax.parallelism === undefined || syntax.parallelism === null ? undefined : [syntax.parallelism.call.betweenCalls ?? '', syntax.call.prefix]
  for (;;) {
    let name: string
    if (typeof choice === 'object') {
      name = choice.name
      if (!force(tokensOf(name))) break
    } else {
      const gen = await phase({ grammar: nameGrammar! })
      if (gen.finishReason !== 'stop' || !names.includes(gen.output)) return done(gen.finishReason === 'stop' ? 'length' : gen.finishReason, content)
      name = gen.output
    }
    if (!force(tokensOf(syntax.call.paramsPrefix))) break
    const args = await input.argumentsGrammar(name)
    const gen = await phase({ grammar: args.sample, grammarStops: ['\n\n\n\n'], trimEnd: true })
    if (gen.finishReason !== 'stop') return done(gen.finishReason, content)
    args.check.parse(gen.output) // the grammar guarantees it; a failure is a bug worth a 500, not a wrong answer
    calls.push({ name, arguments: gen.output })
    if (!force(tokensOf(syntax.call.suffix))) return done('length', content)
    // A named choice is one call of that function; otherwise the model may add more.
    if (typeof choice === 'object' || !tools.parallelToolCalls || another === undefined || calls.length >= LIMITS.maxToolCalls) break
    const more = await input.createGrammar(`root ::= (${literal(text(another))})?`)
    const next = await phase({ grammar: more })
    if (next.output === '' || next.finishReason !== 'stop') break
  }
  return done(calls.length > 0 ? 'stop' : 'length', content)
}
