/** The node: identity, build, store, devices and their keys, models, and live figures. */
import { useEffect, useState } from 'preact/hooks'
import { getJson, getMetrics } from './api.js'

interface Info { address: string; operator: string; store: string; gpu: string; metrics?: string; [k: string]: unknown }

/** Whether this browser may read /metrics (node/metrics-http.ts): asked only then, so no 403 is provoked. */
const mayReadMetrics = (info: Info): boolean =>
  info.metrics === 'public' || (info.metrics === 'local' && ['127.0.0.1', 'localhost', '[::1]'].includes(location.hostname))
interface Build { name: string; version: string; commit: string; node: string }
interface DeviceInfo { name: string; description: string; keys: string[] }
/** `decode` appears once a model is loaded: the path the engine chose for it (gpu-infer engine-decode.ts). */
interface Model { name: string; sha256: string; bytes: number; loaded: boolean; decode?: { path: string; lanes: number; reason: string } }

const short = (s: string) => (s.length > 16 ? `${s.slice(0, 8)}…${s.slice(-6)}` : s)
const figure = (n: number | undefined) => (n === undefined ? '—' : Number.isInteger(n) ? n.toLocaleString('en') : n.toFixed(1))

export function NodeView() {
  const [info, setInfo] = useState<Info>()
  const [build, setBuild] = useState<Build>()
  const [devices, setDevices] = useState<DeviceInfo[]>([])
  const [models, setModels] = useState<Model[]>()
  const [metrics, setMetrics] = useState<Map<string, number> | null>()
  const [error, setError] = useState<string>()

  useEffect(() => {
    let timer: ReturnType<typeof setInterval> | undefined
    void (async () => {
      try {
        const node = await getJson<Info>('/~meta@1.0/info')
        setInfo(node)
        if (mayReadMetrics(node)) {
          const poll = () => void getMetrics().then((m) => setMetrics(m ?? null), () => setMetrics(null))
          poll()
          timer = setInterval(poll, 5000)
        } else {
          setMetrics(null)
        }
        setBuild(await getJson<Build>('/~meta@1.0/build'))
        const root = await getJson<{ devices: string[] }>('/')
        // A device answers `info` with its description, unless it has an `info` key of its own
        // (meta@1.0's is the node's info): then only its name is shown.
        setDevices(await Promise.all(root.devices.map(async (name): Promise<DeviceInfo> => {
          const d = await getJson<Record<string, unknown>>(`/~${name}/info`)
          const keys = Array.isArray(d.keys) ? d.keys.map(String) : []
          return { name, keys, description: typeof d.description === 'string' ? d.description : '' }
        })))
        if (root.devices.some((d) => d.startsWith('gpu-infer@'))) setModels(await getJson<Model[]>('/~gpu-infer@1.0/models'))
      } catch (err) {
        setError(String((err as Error).message))
      }
    })()
    return () => clearInterval(timer)
  }, [])

  const m = (k: string) => metrics?.get(k)
  return (
    <section data-testid="node-view">
      {error !== undefined && <p class="error">{error}</p>}
      <div class="cards">
        <div class="card"><h3>Address</h3><code title={info?.address}>{info === undefined ? '…' : short(info.address)}</code></div>
        <div class="card"><h3>Operator</h3><code title={info?.operator}>{info === undefined ? '…' : short(info.operator)}</code></div>
        <div class="card"><h3>Version</h3><span data-testid="version">{build === undefined ? '…' : `${build.version} (${short(build.commit)})`}</span></div>
        <div class="card"><h3>Uptime</h3><span>{metrics ? `${figure(m('hashbeam_uptime_seconds'))} s` : '—'}</span></div>
        <div class="card"><h3>Store</h3><span>{info?.store ?? '…'}</span></div>
        <div class="card"><h3>GPU</h3><span>{info?.gpu ?? '…'}</span></div>
      </div>
      <h2>Live figures</h2>
      {metrics === null
        ? <p class="muted" data-testid="metrics-hidden">This node does not show its metrics to this client (see <code>--metrics</code>).</p>
        : (
          <div class="cards" data-testid="figures">
            <div class="card"><h3>HTTP requests</h3><span>{figure(m('hashbeam_http_requests_total'))}</span></div>
            <div class="card"><h3>Steps executed</h3><span>{figure(m('hashbeam_resolver_steps_total{source="executed"}'))}</span></div>
            <div class="card"><h3>From the ledger</h3><span>{figure((m('hashbeam_resolver_steps_total{source="ledger"}') ?? 0) + (m('hashbeam_resolver_steps_total{source="memory"}') ?? 0))}</span></div>
            <div class="card"><h3>Ledger writes</h3><span>{figure(m('hashbeam_ledger_writes_total{kind="step"}'))}</span></div>
            <div class="card"><h3>Tokens generated</h3><span>{figure(m('hashbeam_llamacpp_tokens_predicted_total'))}</span></div>
            <div class="card"><h3>Verify runs</h3><span>{figure(m('hashbeam_verify_runs_total'))}</span></div>
          </div>
        )}
      {models !== undefined && (
        <>
          <h2>Models</h2>
          <table data-testid="models">
            <thead><tr><th>name</th><th>sha256</th><th>size</th><th>loaded</th><th>decode path</th></tr></thead>
            <tbody>{models.map((x) => <tr key={x.name}><td>{x.name}</td><td><code title={x.sha256}>{short(x.sha256)}</code></td><td>{(x.bytes / 2 ** 20).toFixed(1)} MiB</td><td>{x.loaded ? 'yes' : 'no'}</td><td title={x.decode?.reason}>{x.decode === undefined ? '—' : `${x.decode.path} × ${x.decode.lanes}`}</td></tr>)}</tbody>
          </table>
        </>
      )}
      <h2>Devices</h2>
      <table data-testid="devices">
        <thead><tr><th>device</th><th>keys</th><th>what</th></tr></thead>
        <tbody>{devices.map((d) => <tr key={d.name}><td><code>{d.name}</code></td><td>{d.keys.join(', ')}</td><td>{d.description}</td></tr>)}</tbody>
      </table>
    </section>
  )
}
