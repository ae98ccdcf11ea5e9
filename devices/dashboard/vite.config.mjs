// The dashboard build (`npm run build`): devices/dashboard/ui → dist/dashboard, served by
// devices/dashboard/serve.ts at /~dashboard@1.0/. Everything is bundled from node_modules: no
// CDN, no font or script from elsewhere, so it works offline and under a strict CSP.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))

export default defineConfig({
  root: here('./ui'),
  base: '/~dashboard@1.0/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('../../dist/dashboard'),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    // No inline module-preload polyfill script: the CSP allows scripts from files only.
    modulePreload: { polyfill: false },
  },
})
