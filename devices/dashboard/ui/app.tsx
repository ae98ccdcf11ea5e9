/** The dashboard: four views switched by the URL hash (#node, #explorer=<hashpath>, #playground, #cluster). */
import { useEffect, useState } from 'preact/hooks'
import { ClusterView } from './cluster.js'
import { Explorer } from './explorer.js'
import { NodeView } from './node-view.js'
import { Playground } from './playground.js'

type View = { name: 'node' } | { name: 'explorer'; hashpath: string } | { name: 'playground' } | { name: 'cluster' }

function fromHash(hash: string): View {
  if (hash.startsWith('#explorer')) return { name: 'explorer', hashpath: decodeURIComponent(hash.slice('#explorer='.length)) }
  if (hash === '#playground') return { name: 'playground' }
  if (hash === '#cluster') return { name: 'cluster' }
  return { name: 'node' }
}

export function App() {
  const [view, setView] = useState<View>(fromHash(location.hash))
  useEffect(() => {
    const onHash = () => setView(fromHash(location.hash))
    addEventListener('hashchange', onHash)
    return () => removeEventListener('hashchange', onHash)
  }, [])
  const tab = (name: View['name'], label: string, href: string) => (
    <a class={view.name === name ? 'tab active' : 'tab'} href={href} data-testid={`tab-${name}`}>{label}</a>
  )
  return (
    <>
      <header>
        <span class="logo">◆ hashbeam</span>
        <nav>
          {tab('node', 'Node', '#node')}
          {tab('explorer', 'Explorer', '#explorer=')}
          {tab('playground', 'Playground', '#playground')}
          {tab('cluster', 'Cluster', '#cluster')}
        </nav>
      </header>
      <main>
        {view.name === 'node' && <NodeView />}
        {view.name === 'explorer' && <Explorer hashpath={view.hashpath} />}
        {view.name === 'playground' && <Playground />}
        {view.name === 'cluster' && <ClusterView />}
      </main>
    </>
  )
}

/** Opens a hashpath in the explorer. */
export const openInExplorer = (hashpath: string): void => {
  location.hash = `#explorer=${encodeURIComponent(hashpath)}`
}
