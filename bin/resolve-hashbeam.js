// Module resolution hook (node:module register) installed by the device loader: a --device
// module in any folder may `import … from 'hashbeam/core'` (or hashbeam, hashbeam/testing…)
// without installing hashbeam there. Only when the module's own folder cannot resolve the
// specifier is it resolved from this installation, through the package's "exports".
export async function initialize() {}

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (err) {
    const ours = specifier === 'hashbeam' || specifier.startsWith('hashbeam/')
    if (!ours || err?.code !== 'ERR_MODULE_NOT_FOUND') throw err
    return next(specifier, { ...context, parentURL: new URL('../package.json', import.meta.url).href })
  }
}
