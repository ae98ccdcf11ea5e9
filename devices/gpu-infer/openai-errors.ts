/**
 * @module
 * Which OpenAI parameter a refusal is about: OpenAI's error shape names it in `param`, and SDKs
 * show it. A refusal that carries `detail.param` names it itself; the engine's own codes map to
 * the OpenAI name of the key they check.
 */
const PARAM_OF_CODE: Readonly<Record<string, string>> = {
  'invalid-model': 'model', 'unknown-model': 'model', 'model-required': 'model', 'model-file-missing': 'model',
  'invalid-messages': 'messages', 'invalid-prompt': 'prompt', 'empty-prompt': 'messages', 'prompt-too-long': 'messages',
  'invalid-max-tokens': 'max_tokens', 'invalid-temperature': 'temperature', 'invalid-top-k': 'top_k', 'invalid-top-p': 'top_p',
  'invalid-min-p': 'min_p', 'invalid-repeat-penalty': 'repeat_penalty', 'invalid-seed': 'seed', 'invalid-stop': 'stop',
  'invalid-json-schema': 'response_format', 'json-schema-too-large': 'response_format', 'json-schema-too-complex': 'response_format',
  'invalid-json': 'body', 'invalid-logprobs': 'top_logprobs', 'invalid-input': 'input', 'invalid-tools': 'tools', 'invalid-tool-choice': 'tool_choice', 'tools-unsupported': 'tools', 'input-too-long': 'input', 'invalid-n': 'n', 'invalid-content': 'content', 'content-too-long': 'content', 'invalid-tokens': 'tokens',
}

export function paramOf(code: string, detail: Record<string, unknown> | undefined): string | null {
  const named = detail?.param
  if (typeof named === 'string') return named
  return PARAM_OF_CODE[code] ?? null
}
