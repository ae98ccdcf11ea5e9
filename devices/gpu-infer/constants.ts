/**
 * @module
 * Fixed values of the gpu-infer engine and model generator. Anything here that feeds a
 * computation (sampler defaults, the ChatML template, the chat fallback format) is part of the
 * determinism contract: changing it changes outputs, so treat edits as a version bump.
 */

/** ChatML, the template generated models carry when asked for one (node-llama-cpp reads it). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

/**
 * ChatML with tools (the Hermes / Qwen 2.5 form: `<tools>` in the system turn, calls as
 * `<tool_call>{"name", "arguments"}</tool_call>`, results as `<tool_response>` user turns).
 * node-llama-cpp reads the call syntax out of it, so a model carrying it can call tools.
 */
export const CHATML_TOOLS_TEMPLATE =
  "{%- if tools %}{{ '<|im_start|>system\\n' }}{% if messages[0].role == 'system' %}{{ messages[0].content + '\\n\\n' }}{% endif %}" +
  "{{ '# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}" +
  "{% for tool in tools %}{{ '\\n' + (tool | tojson) }}{% endfor %}" +
  "{{ '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\\n</tool_call><|im_end|>\\n' }}" +
  "{% elif messages[0].role == 'system' %}{{ '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}{% endif %}" +
  "{% for message in messages %}" +
  "{% if message.role == 'user' or (message.role == 'system' and not loop.first) or (message.role == 'assistant' and not message.tool_calls) %}" +
  "{{ '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}" +
  "{% elif message.role == 'assistant' %}{{ '<|im_start|>assistant' }}{% if message.content %}{{ '\\n' + message.content }}{% endif %}" +
  "{% for tool_call in message.tool_calls %}{% if tool_call.function is defined %}{% set tool_call = tool_call.function %}{% endif %}" +
  "{{ '\\n<tool_call>\\n{\"name\": \"' + tool_call.name + '\", \"arguments\": ' + (tool_call.arguments | tojson) + '}\\n</tool_call>' }}{% endfor %}{{ '<|im_end|>\\n' }}" +
  "{% elif message.role == 'tool' %}{% if loop.first or messages[loop.index0 - 1].role != 'tool' %}{{ '<|im_start|>user' }}{% endif %}" +
  "{{ '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}{% if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{ '<|im_end|>\\n' }}{% endif %}" +
  "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

/** Chat fallback for models without a template: `role: content` lines, then `assistant:`. */
export const FALLBACK_TURN_SEPARATOR = '\n'
export const FALLBACK_ASSISTANT_PREFIX = 'assistant:'

/** Roles accepted in chat messages. */
export const CHAT_ROLES = ['system', 'user', 'assistant'] as const

/** Sampler defaults (node-llama-cpp's own, except temperature: greedy unless asked). */
export const SAMPLER_DEFAULTS = {
  temperature: 0,
  topK: 40,
  topP: 0.95,
  minP: 0,
  /** 1 = off. A penalty changes outputs, so it is opt-in. */
  repeatPenalty: 1,
} as const

/** How many recent generated tokens the repeat penalty looks at (llama.cpp's default). */
export const REPEAT_PENALTY_LAST_TOKENS = 64

/** Engine defaults when the caller leaves an option out. */
export const ENGINE_DEFAULTS = {
  defaultMaxTokens: 256,
  /** Largest `maxTokens` a request may ask for (further bounded by the context). */
  maxTokensCap: 4096,
  /** Bytes of model files kept loaded before the least recently used one is unloaded. */
  memoryBudgetBytes: 8 * 1024 ** 3,
  /** Used for `retryAfterSeconds` before any request has finished. */
  initialRequestSecondsEstimate: 2,
  /**
   * How long close() waits for llama.cpp to release. node-llama-cpp 3.21 leaks a dispose guard
   * when a model fails to load, and `llama.dispose()` then never settles; close must still end.
   */
  disposeTimeoutMs: 3000,
} as const

/** The OpenAI surface's defaults. */
export const OPENAI_DEFAULTS = {
  /** Most choices (`n`) per request: each is a full generation, run one after another. */
  maxChoices: 8,
} as const

/** Request limits (keep hostile input cheap to reject). */
export const LIMITS = {
  maxStopSequences: 16,
  maxStopLength: 256,
  maxMessages: 1024,
  /** JSON schemas nest at most this deep (the grammar compiler recurses). */
  maxSchemaDepth: 32,
  /**
   * Size and complexity of a JSON schema (400 `json-schema-too-large` / `-too-complex` past
   * them). Compiling costs about 1 ms per KiB on one core and grows with every enum value and
   * sub-schema, so these keep the worst case to tens of ms (OpenAI's structured outputs allow
   * similar: 5000 properties, 1000 enum values).
   */
  maxSchemaBytes: 64 * 1024,
  maxSchemaNodes: 2048,
  maxSchemaEnumValues: 2048,
  /** The compiled grammar llama.cpp parses on the event loop (~40 µs per KiB). */
  maxGrammarBytes: 512 * 1024,
  /** A schema whose grammar takes longer to compile (in the worker) is refused. */
  schemaCompileTimeoutMs: 5_000,
  /** Unbounded strings / arrays in a JSON schema get these caps, so output always terminates. */
  schemaStringCap: 256,
  schemaArrayCap: 32,
  /** Text one tokenize call may take (the tokenizer runs on the event loop). */
  maxTokenizeBytes: 256 * 1024,
  /** Token ids one detokenize call may take. */
  maxDetokenizeTokens: 65_536,
  /** Texts one embeddings request may carry (together at most maxTokenizeBytes). */
  maxEmbedInputs: 256,
  /** Functions one request may offer (OpenAI allows 128). */
  maxTools: 128,
  /** Calls one assistant turn may make (parallel_tool_calls). */
  maxToolCalls: 8,
  /** Most `top_logprobs` per token (OpenAI's own limit). */
  maxTopLogprobs: 20,
} as const

/** UTF-8 replacement character: a detokenized piece ending in it is an incomplete sequence. */
export const REPLACEMENT_CHAR = '\uFFFD'
