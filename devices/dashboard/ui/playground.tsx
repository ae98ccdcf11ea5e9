/** Inference with tokens streaming in, then its hashpath opened in the explorer. */
import { useEffect, useState } from 'preact/hooks'
import { ApiError, getJson, pathValue, streamPath } from './api.js'
import { openInExplorer } from './app.js'

interface Model { name: string; loaded: boolean }
interface Result { hashpath: string; id: string; cached: boolean; receipt?: string; value: { output?: string; usage?: Record<string, number>; 'finish-reason'?: string } }

export function Playground() {
  const [models, setModels] = useState<Model[]>([])
  const [model, setModel] = useState('')
  const [prompt, setPrompt] = useState('Once upon a time')
  const [maxTokens, setMaxTokens] = useState(24)
  const [output, setOutput] = useState('')
  const [tokens, setTokens] = useState(0)
  const [result, setResult] = useState<Result>()
  const [error, setError] = useState<string>()
  const [running, setRunning] = useState(false)
  const [withReceipt, setWithReceipt] = useState(false)

  useEffect(() => {
    getJson<Model[]>('/~gpu-infer@1.0/models').then((list) => {
      setModels(list)
      if (list[0] !== undefined) setModel(list[0].name)
    }, (err: Error) => setError(err.message))
  }, [])

  const run = async () => {
    setRunning(true)
    setOutput('')
    setTokens(0)
    setResult(undefined)
    setError(undefined)
    try {
      const path = `/~gpu-infer@1.0/run&model=${pathValue(model)}&prompt=${pathValue(prompt)}&max-tokens+integer=${Math.max(1, Math.floor(maxTokens))}${withReceipt ? '&attest=true' : ''}`
      const r = await streamPath<Result>(path, { onToken: (text) => { setOutput((o) => o + text); setTokens((n) => n + 1) } })
      if (r.cached && typeof r.value.output === 'string') setOutput(r.value.output)
      setResult(r)
    } catch (err) {
      setError(err instanceof ApiError ? `${err.status} ${err.code}: ${err.message}` : String(err))
    } finally {
      setRunning(false)
    }
  }

  return (
    <section data-testid="playground">
      <div class="row">
        <label>model <select data-testid="model" value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value)}>
          {models.map((m) => <option key={m.name} value={m.name}>{m.name}{m.loaded ? '' : ' (not loaded)'}</option>)}
        </select></label>
        <label><input type="checkbox" data-testid="with-receipt" checked={withReceipt} onChange={(e) => setWithReceipt((e.target as HTMLInputElement).checked)} /> signed receipt</label>
        <label>max tokens <input type="number" min={1} max={2048} value={maxTokens} onInput={(e) => setMaxTokens(Number((e.target as HTMLInputElement).value))} /></label>
      </div>
      <textarea data-testid="prompt" rows={3} value={prompt} onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)} />
      <div class="row">
        <button data-testid="run" disabled={running || model === ''} onClick={() => void run()}>{running ? 'Running…' : 'Run'}</button>
        <span class="muted" data-testid="token-count">{tokens} tokens streamed</span>
      </div>
      {error !== undefined && <p class="error" data-testid="playground-error">{error}</p>}
      <pre class="output" data-testid="output">{output}</pre>
      {result !== undefined && (
        <div class="row" data-testid="result">
          <span class="badge ok">{result.cached ? 'answered from the ledger' : `done: ${result.value['finish-reason'] ?? ''}`}</span>
          <code class="hp" data-testid="result-hashpath">{result.hashpath}</code>
          <button data-testid="open-explorer" onClick={() => openInExplorer(result.hashpath)}>Open in explorer</button>
          {result.receipt !== undefined && (
            <a class="button" data-testid="receipt" href={`/${result.receipt}?accept-codec=json@1.0`} download={`receipt-${result.receipt}.json`}>Download receipt</a>
          )}
        </div>
      )}
    </section>
  )
}
