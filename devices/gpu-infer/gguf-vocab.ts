/**
 * @module
 * The SentencePiece ("llama") vocabulary of generated models.
 *
 * llama.cpp needs: `<unk>`, `<s>`, `</s>`, then the 256 byte tokens `<0x00>`…`<0xFF>` (byte
 * fallback, and the newline token it finds by looking up `<0x0A>`), then normal pieces. With
 * pieces for common characters and words, text tokenizes into a realistic mix instead of
 * pure bytes, so prompt lengths behave like a real model's. When a chat template is present
 * the ChatML control tokens are added, so the template renders to real special tokens and
 * `<|im_end|>` ends a turn (llama.cpp treats it as end-of-generation).
 */

/** llama.cpp token types (`llama_token_type`). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const

export interface Vocab {
  tokens: string[]
  scores: Float32Array
  types: Int32Array
  bos: number
  eos: number
  unk: number
  /** Id of `<|im_end|>` when the ChatML control tokens are present. */
  eot?: number
}

/** SentencePiece's space marker (U+2581). */
const SP = '\u2581'

// Most frequent English letters; their bigrams make useful merge pieces.
const FREQUENT = 'etaoinshrd'
const WORDS = ['the', 'and', 'of', 'to', 'in', 'is', 'it', 'llama', 'hash', 'beam', 'node', 'that']

/** Build the vocabulary. Deterministic: the same flags give the same list, in the same order. */
export function buildVocab(opts: { chatTokens: boolean }): Vocab {
  const tokens: string[] = []
  const scores: number[] = []
  const types: number[] = []
  const seen = new Set<string>()
  const add = (piece: string, type: number, score: number) => {
    if (seen.has(piece)) return
    seen.add(piece)
    tokens.push(piece); types.push(type); scores.push(score)
  }
  add('<unk>', TokenType.UNKNOWN, 0)
  add('<s>', TokenType.CONTROL, 0)
  add('</s>', TokenType.CONTROL, 0)
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, TokenType.BYTE, 0)
  // Scores: SPM merges the highest-scoring pair first; longer pieces win, earlier ones break ties.
  const piece = (p: string) => add(p, TokenType.NORMAL, [...p].length - tokens.length * 1e-4)
  piece(SP)
  for (let c = 0x21; c < 0x7f; c++) piece(String.fromCharCode(c))
  for (let c = 0; c < 26; c++) piece(SP + String.fromCharCode(0x61 + c))
  for (let c = 0; c < 26; c++) piece(SP + String.fromCharCode(0x41 + c))
  for (const a of FREQUENT) for (const b of FREQUENT) piece(a + b)
  for (const w of WORDS) piece(SP + w)
  let eot: number | undefined
  if (opts.chatTokens) {
    add('<|im_start|>', TokenType.CONTROL, 0)
    eot = tokens.length
    add('<|im_end|>', TokenType.CONTROL, 0)
  }
  return {
    tokens,
    scores: Float32Array.from(scores),
    types: Int32Array.from(types),
    bos: 1,
    eos: 2,
    unk: 0,
    ...(eot === undefined ? {} : { eot }),
  }
}
