/**
 * The hashpath explorer: a chain drawn step by step (base → request → result, device, key,
 * whether it can be replayed), any message opened by its ID, and Verify / Replay reports with
 * the first bad step marked.
 */
import { useEffect, useState } from 'preact/hooks'
import { getJson, pathValue } from './api.js'

interface Step { hashpath: string; base: string; request: string; device: string; key: string; result: string; deterministic: boolean; writer?: string }
interface Chain { hashpath: string; truncated: boolean; steps: Step[] }
interface Report { kind: 'verify' | 'replay'; ok: boolean; summary: string; badHashpath?: string; reason?: string; detail?: string }

const ID = /^[A-Za-z0-9_-]{43}$/
const shortId = (id: string) => `${id.slice(0, 6)}…${id.slice(-4)}`

function toReport(kind: Report['kind'], r: Record<string, any>): Report {
  if (kind === 'verify') {
    if (r.valid === true) return { kind, ok: true, summary: `valid: ${r.steps} steps checked` }
    const f = r.failure ?? {}
    return { kind, ok: false, summary: `invalid at step ${f.step ?? '?'}: ${f.reason}`, badHashpath: f.hashpath, reason: f.reason, detail: f.message }
  }
  const first = r['first-divergence'] ?? r.firstDivergence ?? null
  if (r.ledger !== undefined) return { kind, ok: false, summary: `ledger invalid: ${r.ledger.reason}`, reason: r.ledger.reason, detail: r.ledger.message }
  if (first === null) return { kind, ok: true, summary: `reproduced: ${r.verified} verified, ${r.unverifiable} not replayable, of ${r.steps}` }
  return { kind, ok: false, summary: `${r.divergent} divergent; first at step ${first.step}: ${first.reason}`, badHashpath: first.hashpath, reason: first.reason, detail: first.detail }
}

export function Explorer(props: { hashpath: string }) {
  const [input, setInput] = useState(props.hashpath)
  const [chain, setChain] = useState<Chain>()
  const [error, setError] = useState<string>()
  const [report, setReport] = useState<Report>()
  const [busy, setBusy] = useState(false)
  const [opened, setOpened] = useState<{ id: string; body: string }>()

  const load = async (hashpath: string) => {
    setError(undefined)
    setReport(undefined)
    setChain(undefined)
    if (hashpath === '') return
    try {
      setChain(await getJson<Chain>(`/~dashboard@1.0/chain&hashpath=${pathValue(hashpath)}`))
    } catch (err) {
      setError((err as Error).message)
    }
  }
  useEffect(() => {
    setInput(props.hashpath)
    void load(props.hashpath)
  }, [props.hashpath])

  const check = async (kind: Report['kind']) => {
    if (chain === undefined) return
    setBusy(true)
    setReport(undefined)
    try {
      setReport(toReport(kind, await getJson<Record<string, unknown>>(`/~replay@1.0/${kind}&hashpath=${pathValue(chain.hashpath)}`)))
    } catch (err) {
      setReport({ kind, ok: false, summary: (err as Error).message })
    } finally {
      setBusy(false)
    }
  }
  const open = async (id: string) => {
    if (!ID.test(id)) return
    try {
      setOpened({ id, body: JSON.stringify(await getJson<unknown>(`/${id}`), null, 2) })
    } catch (err) {
      setOpened({ id, body: `cannot open: ${(err as Error).message}` })
    }
  }
  const idLink = (id: string, label: string) => ID.test(id)
    ? <button class="id" title={id} onClick={() => void open(id)}>{label} {shortId(id)}</button>
    : <code class="id" title={id}>{label} {shortId(id.slice(id.lastIndexOf('/') + 1))}</code>

  return (
    <section data-testid="explorer">
      <form class="row" onSubmit={(e) => { e.preventDefault(); location.hash = `#explorer=${encodeURIComponent(input.trim())}` }}>
        <input data-testid="hashpath-input" placeholder="a hashpath (ID/ID) from a hashpath header" value={input} onInput={(e) => setInput((e.target as HTMLInputElement).value)} />
        <button type="submit">Open</button>
      </form>
      {error !== undefined && <p class="error" data-testid="explorer-error">{error}</p>}
      {chain !== undefined && (
        <>
          <div class="row">
            <button data-testid="verify" disabled={busy} onClick={() => void check('verify')}>Verify</button>
            <button data-testid="replay" disabled={busy} onClick={() => void check('replay')}>Replay</button>
            {report !== undefined && <span class={report.ok ? 'badge ok' : 'badge bad'} data-testid="report">{report.kind}: {report.summary}</span>}
          </div>
          {report?.detail !== undefined && <p class="muted" data-testid="report-detail">{report.detail}</p>}
          {chain.truncated && <p class="muted">Showing the newest {chain.steps.length} steps.</p>}
          <ol class="chain" data-testid="chain">
            {chain.steps.map((s, i) => {
              const bad = report !== undefined && !report.ok && report.badHashpath === s.hashpath
              return (
                <li key={s.hashpath} class={bad ? 'step bad' : 'step'} data-testid="step" data-bad={bad ? 'true' : 'false'}>
                  <div class="step-head">
                    <span class="n">step {i + 1}</span>
                    <code>{s.device}</code> <b>{s.key}</b>
                    <span class={s.deterministic ? 'badge ok' : 'badge'}>{s.deterministic ? 'replayable' : 'not replayable'}</span>
                    {typeof s.writer === 'string' && s.writer.length >= 12 && <span class="muted" title={s.writer}>written by {shortId(s.writer)}</span>}
                    {bad && <span class="badge bad" data-testid="bad-step">{report?.reason}</span>}
                  </div>
                  <div class="flow">
                    {idLink(s.base, 'base')} <span class="arrow">→</span> {idLink(s.request, 'request')} <span class="arrow">→</span> {idLink(s.result, 'result')}
                  </div>
                  <div class="hp muted" title={s.hashpath}>{s.hashpath}</div>
                </li>
              )
            })}
          </ol>
        </>
      )}
      {opened !== undefined && (
        <div class="message" data-testid="message">
          <div class="row"><b>message {opened.id}</b><button onClick={() => setOpened(undefined)}>close</button></div>
          <pre>{opened.body}</pre>
        </div>
      )}
    </section>
  )
}
