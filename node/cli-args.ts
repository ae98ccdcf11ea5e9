/**
 * @module
 * The CLI's argument parser: node:util's parseArgs, except that an option declared to take a
 * value always takes the next word, as getopt does. Wallet addresses are base64url and one in
 * 64 starts with `-`; parseArgs refuses `--operator -Abc…` as "ambiguous", so a node would fail
 * to start for a random key. Words that start with `--` and name a known option stay options.
 */
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util'

export function parseArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof nodeParseArgs<T>> {
  const options = config.options ?? {}
  const takesValue = (word: string): boolean => {
    if (word.startsWith('--')) return options[word.slice(2)]?.type === 'string'
    if (word.length !== 2 || word[0] !== '-') return false
    return Object.values(options).some((o) => o.short === word[1] && o.type === 'string')
  }
  const names = (word: string): boolean => word.startsWith('--') && word.slice(2).split('=')[0]! in options
  const args = config.args === undefined ? undefined : [...config.args]
  if (args !== undefined) {
    for (let i = 0; i < args.length - 1; i++) {
      const word = args[i]!
      if (word === '--') break
      const next = args[i + 1]!
      if (takesValue(word) && next.startsWith('-') && next !== '--' && !names(next)) {
        // `--name=value`; a short option takes its value attached (`-o-x`).
        args.splice(i, 2, word.startsWith('--') ? `${word}=${next}` : `${word}${next}`)
      }
    }
  }
  // Same config, only `args` rewritten: the result has the caller's types.
  return nodeParseArgs({ ...config, args }) as ReturnType<typeof nodeParseArgs<T>>
}
