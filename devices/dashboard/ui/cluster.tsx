/**
 * The cluster, as a router sees it (`GET /~router@1.0/nodes`, polled every 2 s): each live node
 * with its models, load, circuit state and last heartbeat, and what checkers found: results
 * checked, faults proven, the models it is benched for, and the chance that a node cheating on
 * every k-th result has escaped its checks so far, (1 − 1/k)^checked (docs/verification.md).
 * On a node that is no router the view says so (404 `not-a-router`).
 */
import { useEffect, useState } from 'preact/hooks'
import { ApiError, getJson } from './api.js'

interface ModelLoad { queued: number; running: number; 'max-queue': number }
interface ClusterNode {
  address: string
  url: string
  models: Array<{ name: string; sha256: string }>
  load: Record<string, ModelLoad>
  circuit: 'closed' | 'open' | 'half-open'
  'in-flight': number
  lastHeartbeat: number
  expiresAt: number
  checks?: { checked: number; agreed: number; faults: number; gaps: number }
  benched?: Array<{ 'model-sha256': string }>
}
interface Nodes { 'ttl-ms': number; now: number; nodes: ClusterNode[] }

const short = (s: string) => (s.length > 16 ? `${s.slice(0, 8)}…${s.slice(-6)}` : s)

function load(node: ClusterNode): string {
  const parts = Object.entries(node.load).map(([m, l]) => `${m}: ${l.running} running, ${l.queued}/${l['max-queue']} queued`)
  return parts.length === 0 ? '—' : parts.join('; ')
}

/** The chance a node that cheats on every k-th result passed `checked` independent checks unseen. */
export const escapeChance = (k: number, checked: number): number => (1 - 1 / k) ** checked

function checksCell(n: ClusterNode): string {
  const c = n.checks
  if (c === undefined || c.checked === 0) return '—'
  return `${c.agreed}/${c.checked} agreed${c.faults > 0 ? `, ${c.faults} fault${c.faults === 1 ? '' : 's'} proven` : ''}${c.gaps > 0 ? `, ${c.gaps} gaps` : ''}`
}

export function ClusterView() {
  const [k, setK] = useState(10)
  const [nodes, setNodes] = useState<Nodes>()
  const [state, setState] = useState<'loading' | 'router' | 'none' | 'error'>('loading')
  const [error, setError] = useState<string>()
  useEffect(() => {
    let stopped = false
    const poll = async () => {
      try {
        const answer = await getJson<Nodes>('/~router@1.0/nodes')
        if (stopped) return
        setNodes(answer)
        setState('router')
      } catch (err) {
        if (stopped) return
        if (err instanceof ApiError && err.code === 'not-a-router') setState('none')
        else {
          setError((err as Error).message)
          setState('error')
        }
      }
    }
    void poll()
    const timer = setInterval(() => void poll(), 2000)
    return () => {
      stopped = true
      clearInterval(timer)
    }
  }, [])
  if (state === 'none') {
    return <section data-testid="cluster-view"><p class="muted" data-testid="cluster-none">This node is no router: start one with <code>--router</code>, or <code>hashbeam cluster up</code> (docs/cluster.md).</p></section>
  }
  return (
    <section data-testid="cluster-view">
      {state === 'error' && <p class="error">{error}</p>}
      <p class="muted">{nodes === undefined ? '…' : `${nodes.nodes.length} live node${nodes.nodes.length === 1 ? '' : 's'}; a node without a heartbeat for ${(nodes['ttl-ms'] / 1000).toFixed(1)} s leaves every route.`}</p>
      <label class="muted">a node cheating on every <input type="number" min={2} max={1000} value={k} style="width:5em" data-testid="cluster-k"
        onInput={(e) => { const v = Number((e.target as HTMLInputElement).value); if (Number.isInteger(v) && v >= 2 && v <= 1000) setK(v) }} />-th result</label>
      <table data-testid="cluster-nodes">
        <thead><tr><th>node</th><th>url</th><th>models</th><th>load</th><th>circuit</th><th>in flight</th><th>last heartbeat</th><th>checks</th><th title="(1 − 1/k)^checked">escape chance, cheating 1 in {k}</th></tr></thead>
        <tbody>{(nodes?.nodes ?? []).map((n) => (
          <tr key={n.address}>
            <td><code title={n.address}>{short(n.address)}</code></td>
            <td>{n.url}</td>
            <td>{n.models.map((m) => m.name).join(', ') || '—'}</td>
            <td>{load(n)}</td>
            <td class={n.circuit === 'closed' ? '' : 'error'}>{n.circuit}</td>
            <td>{n['in-flight']}</td>
            <td>{nodes === undefined ? '' : `${((nodes.now - n.lastHeartbeat) / 1000).toFixed(1)} s ago`}</td>
            <td class={(n.benched?.length ?? 0) > 0 ? 'error' : ''} data-testid="cluster-checks">{checksCell(n)}{(n.benched?.length ?? 0) > 0 ? ` — benched for ${n.benched!.length} model${n.benched!.length === 1 ? '' : 's'}` : ''}</td>
            <td data-testid="cluster-escape">{`${(escapeChance(k, n.checks?.checked ?? 0) * 100).toFixed(n.checks?.checked ? 2 : 0)} %`}</td>
          </tr>
        ))}</tbody>
      </table>
    </section>
  )
}
