/**
 * @module
 * What a worker offers, read fresh for each registration and heartbeat: its devices, its models
 * with their sha256 (hashed once per file, through gpu-infer's digest cache, so a multi-GB model
 * is not re-read at every heartbeat), its capacity and the load its engine reports per model.
 */
import { stat } from 'node:fs/promises'
import { sha256File, type HashCache } from '../gpu-infer/index.js'
import type { ModelLoad, ModelOffer, OfferBody } from './offer.js'

export interface OfferSourceInit {
  /** Model name → file path (gpu-infer's models). */
  readonly models: Readonly<Record<string, string>>
  readonly hashCache: HashCache
  /** gpu-infer's per-model queues. */
  engineStats(): ReadonlyArray<{ name: string; running: number; waiting: number }>
  /** The inference pool's numbers per model (`pool-waiting`, `pool-in-flight`, …), when on a pool. */
  poolLoad?(): Readonly<Record<string, Readonly<Record<string, number>>>>
  devices(): readonly string[]
  readonly parallel: number
  readonly maxQueue: number
}

async function identity(name: string, path: string, cache: HashCache): Promise<ModelOffer> {
  const st = await stat(path)
  let sha256 = cache.get(path, st.size, st.mtimeMs)
  if (sha256 === undefined) {
    sha256 = await sha256File(path)
    cache.set(path, st.size, st.mtimeMs, sha256)
  }
  return { name, sha256, bytes: st.size }
}

export function offerSource(init: OfferSourceInit): () => Promise<Omit<OfferBody, 'url'>> {
  let models: Promise<ModelOffer[]> | undefined
  return async () => {
    // A model file that cannot be read is left out of the offer (the router sends it nothing for it).
    models ??= Promise.all(Object.entries(init.models).map(([n, p]) => identity(n, p, init.hashCache).catch(() => undefined)))
      .then((list) => list.filter((m): m is ModelOffer => m !== undefined))
    const stats = new Map(init.engineStats().map((s) => [s.name, s]))
    const pool = init.poolLoad?.() ?? {}
    const load: Record<string, ModelLoad> = {}
    for (const m of await models) {
      const s = stats.get(m.name)
      load[m.name] = { queued: s?.waiting ?? 0, running: s?.running ?? 0, 'max-queue': init.maxQueue, ...pool[m.name] }
    }
    return {
      devices: init.devices(), models: await models,
      capacity: { parallel: init.parallel, 'max-queue': init.maxQueue }, load: { models: load },
    }
  }
}
