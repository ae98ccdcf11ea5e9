/** Reading `/metrics` in tests with a real Prometheus text-format parser. */
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format'

export type Scrape = ReadonlyMap<string, PromFamily>

export function parseMetrics(text: string): Scrape {
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]))
}

const matches = (labels: Record<string, string> | undefined, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => labels?.[k] === v)

/** The sum of a counter's (or gauge's) samples whose labels include `want`; 0 when none. */
export function sampleSum(scrape: Scrape, name: string, want: Record<string, string> = {}): number {
  const family = scrape.get(name)
  if (family === undefined) return 0
  return family.metrics.filter((m) => matches(m.labels, want)).reduce((n, m) => n + Number(m.value ?? m.count ?? 0), 0)
}

/**
 * A histogram's `_count` for one exact label set. The parser folds a labelled histogram into
 * one sample (it keeps buckets of unlabelled ones only), so counts are read off their line.
 */
export function histogramCount(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')
  const line = text.split('\n').find((l) => l.startsWith(`${name}_count{${want}} `))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

/** Distinct label sets of a family. */
export const seriesCount = (scrape: Scrape, name: string): number => scrape.get(name)?.metrics.length ?? 0
