/**
 * @peculiar/x509 resolves its algorithm providers with tsyringe, which insists on a Reflect
 * metadata polyfill (`reflect-metadata` or `@abraham/reflection`) that is not installed. This
 * is the few lines of that API tsyringe touches; it must be imported before @peculiar/x509.
 */
type Target = object
const store = new WeakMap<Target, Map<string | symbol, Map<unknown, unknown>>>()
const table = (target: Target, prop: string | symbol | undefined, create: boolean): Map<unknown, unknown> | undefined => {
  let byProp = store.get(target)
  if (byProp === undefined && create) store.set(target, (byProp = new Map()))
  const key = prop ?? ''
  let entries = byProp?.get(key)
  if (entries === undefined && create && byProp !== undefined) byProp.set(key, (entries = new Map()))
  return entries
}
const R = Reflect as unknown as Record<string, unknown>
if (typeof R.getMetadata !== 'function') {
  R.defineMetadata = (key: unknown, value: unknown, target: Target, prop?: string | symbol) => { table(target, prop, true)!.set(key, value) }
  R.getOwnMetadata = (key: unknown, target: Target, prop?: string | symbol) => table(target, prop, false)?.get(key)
  R.getMetadata = (key: unknown, target: Target, prop?: string | symbol): unknown => {
    for (let t: Target | null = target; t !== null; t = Object.getPrototypeOf(t) as Target | null) {
      const found = table(t, prop, false)
      if (found?.has(key) === true) return found.get(key)
    }
    return undefined
  }
  R.hasMetadata = (key: unknown, target: Target, prop?: string | symbol) => (R.getMetadata as (k: unknown, t: Target, p?: string | symbol) => unknown)(key, target, prop) !== undefined
  R.metadata = (key: unknown, value: unknown) => (target: Target, prop?: string | symbol) => { table(target, prop, true)!.set(key, value) }
}
export {}
