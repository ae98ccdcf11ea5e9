// @ts-check
/**
 * The import boundaries of Hashbeam, as one ESLint rule (`hashbeam/boundaries`):
 *
 *   core/       imports only core/ and pure libraries (no node:*, no hono, no storage, no llama.cpp)
 *   identity/   imports core/ and identity/ (keys and signatures, below every device)
 *   devices/X/  imports core/, identity/, its own folder, and another device only through its
 *               index.ts (devices/Y/index.js); never node/
 *   node/       imports anything, but a device only through its index.ts
 *
 * Relative imports are resolved against the importing file, so `../../node/x.js` and a deeper
 * `../../../node/x.js` are judged the same way.
 */
import { dirname, relative, resolve, sep } from 'node:path'

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..')

/** Packages core/ may not import: I/O, HTTP, storage, inference, the runtime's own modules. */
const CORE_FORBIDDEN_PACKAGES = [/^node:/, /^hono($|\/)/, /^@hono\//, /^lmdb$/, /^ioredis$/, /^node-llama-cpp$/, /^pino$/]

/** @param {string} file repository-relative, with forward slashes */
function layerOf(file) {
  const [top, name] = file.split('/')
  if (top === 'devices' && name !== undefined && !/^index\.(js|ts)$/.test(name)) return { layer: 'device', device: name }
  if (top === 'devices') return { layer: 'devices-root' }
  return { layer: top }
}

/** @param {string} from @param {string} target @returns {string | undefined} why it is refused */
function refusal(from, target) {
  const src = layerOf(from)
  const dst = layerOf(target)
  const intoDeviceInternals = dst.layer === 'device' && !/^devices\/[^/]+\/index\.(js|ts)$/.test(target)
  switch (src.layer) {
    case 'core':
      return dst.layer === 'core' ? undefined : `core/ imports only core/ (not ${target})`
    case 'identity':
      return dst.layer === 'core' || dst.layer === 'identity' ? undefined : `identity/ imports only core/ and identity/ (not ${target})`
    case 'device':
      if (dst.layer === 'core' || dst.layer === 'identity') return undefined
      if (dst.layer === 'device' && dst.device === src.device) return undefined
      if (dst.layer === 'device' && !intoDeviceInternals) return undefined
      if (dst.layer === 'device') return `devices/${src.device}/ may use devices/${dst.device}/ only through its index.ts (not ${target})`
      return `devices/ never import ${dst.layer}/ (${target})`
    case 'devices-root':
      if (intoDeviceInternals) return `devices/index.ts uses a device only through its index.ts (not ${target})`
      return dst.layer === 'node' ? `devices/ never import node/ (${target})` : undefined
    case 'node':
      return intoDeviceInternals ? `node/ uses a device only through its index.ts (not ${target})` : undefined
    default:
      return undefined
  }
}

/** @type {import('eslint').Rule.RuleModule} */
const boundaries = {
  meta: { type: 'problem', docs: { description: 'Hashbeam layer and device boundaries' }, schema: [] },
  create(context) {
    const from = relative(ROOT, context.filename).split(sep).join('/')
    const check = (/** @type {any} */ node) => {
      const source = node.source?.value
      if (typeof source !== 'string') return
      if (!source.startsWith('.')) {
        if (from.startsWith('core/') && CORE_FORBIDDEN_PACKAGES.some((p) => p.test(source))) {
          context.report({ node: node.source, message: `core/ stays pure: no "${source}"` })
        }
        return
      }
      const target = relative(ROOT, resolve(dirname(context.filename), source)).split(sep).join('/')
      const why = refusal(from, target)
      if (why !== undefined) context.report({ node: node.source, message: why })
    }
    return { ImportDeclaration: check, ExportAllDeclaration: check, ExportNamedDeclaration: check, ImportExpression: check }
  },
}

export default { rules: { boundaries } }
