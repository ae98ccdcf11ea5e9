/**
 * @module
 * gpu-infer results → OpenAI answer shapes: chat and text completions, their stream chunks, and
 * logprobs in both of OpenAI's forms (chat's `{content: [{token, logprob, bytes, top_logprobs}]}`
 * and completions' parallel arrays). Pure functions of the result messages: a cache hit and a
 * fresh computation answer the same bytes.
 */
import type { Message, ResolveResult } from '../../core/types.js'

export type Kind = 'chat' | 'completion'

export const usageOf = (results: readonly Message[]) => {
  // n choices share one prompt: counted once, as OpenAI does.
  const u = results.map((m) => (m.usage ?? {}) as Message)
  const prompt = Number(u[0]?.['prompt-tokens'] ?? 0)
  const completion = u.reduce((n, x) => n + Number(x['completion-tokens'] ?? 0), 0)
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion }
}
export const modelName = (m: Message) => String((m.model as Message | undefined)?.name ?? '')
/** OpenAI's finish reason: a turn that ends in tool calls says so. */
export const finishOf = (m: Message) => (Array.isArray(m['tool-calls']) && m['tool-calls'].length > 0 ? 'tool_calls' : String(m['finish-reason']))

const bytesOf = (text: string) => [...new TextEncoder().encode(text)]

/** Chat's logprobs object for some of a result's logprob entries. */
export function chatLogprobs(entries: readonly Message[] | undefined): unknown {
  if (entries === undefined) return null
  return {
    content: entries.map((e) => ({
      token: String(e.text), logprob: Number(e.logprob), bytes: bytesOf(String(e.text)),
      top_logprobs: (e.top as Message[]).map((t) => ({ token: String(t.text), logprob: Number(t.logprob), bytes: bytesOf(String(t.text)) })),
    })),
    refusal: null,
  }
}

/** Completions' logprobs object; `offset` is where the first entry's text starts in the output. */
export function completionLogprobs(entries: readonly Message[] | undefined, offset = 0): unknown {
  if (entries === undefined) return null
  const textOffset: number[] = []
  let at = offset
  for (const e of entries) {
    textOffset.push(at)
    at += String(e.text).length
  }
  return {
    tokens: entries.map((e) => String(e.text)),
    token_logprobs: entries.map((e) => Number(e.logprob)),
    // Two alternatives with the same text keep the likelier (a map cannot hold both).
    top_logprobs: entries.map((e) => Object.fromEntries((e.top as Message[]).slice().reverse().map((t) => [String(t.text), Number(t.logprob)]))),
    text_offset: textOffset,
  }
}

/** OpenAI `tool_calls` of a result (chat only). */
export function toolCallsOf(m: Message): Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> | undefined {
  const calls = m['tool-calls']
  if (!Array.isArray(calls) || calls.length === 0) return undefined
  return (calls as Message[]).map((c) => ({ id: String(c.id), type: 'function', function: { name: String(c.name), arguments: String(c.arguments) } }))
}

const idOfAnswer = (kind: Kind, id: string) => `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${id}`

/** Where each choice was recorded: replay any one of them alone. */
export const choiceRecords = (results: readonly ResolveResult[]) =>
  results.map((r, index) => ({ index, hashpath: r.hashpath, id: r.id, cached: r.cached }))

/** The OpenAI body of finished results, one per choice. */
export function completionBody(kind: Kind, results: readonly ResolveResult[], created: number): unknown {
  const values = results.map((r) => r.value as Message)
  const first = values[0]!
  const common = {
    id: idOfAnswer(kind, results[0]!.id), created, model: modelName(first), system_fingerprint: String(first['profile-id']), usage: usageOf(values),
    ...(results.length > 1 ? { hashbeam: { choices: choiceRecords(results) } } : {}),
  }
  if (kind === 'chat') {
    return {
      ...common, object: 'chat.completion',
      choices: values.map((m, index) => {
        const calls = toolCallsOf(m)
        const content = calls !== undefined && m.output === '' ? null : m.output
        return { index, message: { role: 'assistant', content, ...(calls === undefined ? {} : { tool_calls: calls }) }, finish_reason: finishOf(m), logprobs: chatLogprobs(m.logprobs as Message[] | undefined) }
      }),
    }
  }
  return {
    ...common, object: 'text_completion',
    choices: values.map((m, index) => ({ index, text: m.output, finish_reason: finishOf(m), logprobs: completionLogprobs(m.logprobs as Message[] | undefined) })),
  }
}

export interface ChunkWriter {
  /** Text (and its tokens' logprobs) of choice `index`. */
  piece(index: number, text: string, logprobs: readonly Message[] | undefined, finish: string | null): void
  /** Tool-call deltas of choice `index` (chat). */
  toolCalls(index: number, calls: NonNullable<ReturnType<typeof toolCallsOf>>): void
  /** The opening chunk of each choice (chat: the assistant role). */
  open(index: number): void
}

/** Stream chunks of one answer, in OpenAI's chunk shapes, through `send`. */
export function chunkWriter(kind: Kind, send: (data: string) => void, common: { id: string; created: number; model: string }): ChunkWriter {
  const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'
  const offsets = new Map<number, number>()
  const chunk = (choice: Record<string, unknown>) => send(JSON.stringify({ ...common, object, choices: [choice] }))
  return {
    open(index) {
      if (kind === 'chat') chunk({ index, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null })
    },
    piece(index, text, logprobs, finish) {
      if (kind === 'chat') {
        chunk({ index, delta: finish === null ? { content: text } : {}, finish_reason: finish, logprobs: chatLogprobs(logprobs) })
        return
      }
      const offset = offsets.get(index) ?? 0
      offsets.set(index, offset + text.length)
      chunk({ index, text, finish_reason: finish, logprobs: completionLogprobs(logprobs, offset) })
    },
    toolCalls(index, calls) {
      // One delta per call: its id, name and complete arguments (a client concatenates by index).
      calls.forEach((call, i) => chunk({ index, delta: { tool_calls: [{ index: i, ...call }] }, finish_reason: null, logprobs: null }))
    },
  }
}

export const answerId = idOfAnswer

/** OpenAI's embeddings answer; base64 is the float32 little-endian bytes, as OpenAI sends them. */
export function embeddingsBody(m: Message, body: Record<string, unknown>): unknown {
  const vectors = m.embeddings as number[][]
  const base64 = body.encoding_format === 'base64'
  const usage = (m.usage ?? {}) as Message
  return {
    object: 'list', model: modelName(m),
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v })),
    usage: { prompt_tokens: Number(usage['prompt-tokens'] ?? 0), total_tokens: Number(usage['total-tokens'] ?? 0) },
  }
}
