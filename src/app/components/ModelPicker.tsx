import { shortTitle } from '../model-words'
import { stillLoading } from '../server-ready'
import type { State } from '../state'

const STATUS: Record<string, string> = { ready: 'keys ready', error: 'keys failed', idle: '', loading: 'loading…' }

/**
 * The model choice as a compact segmented control: one radio per model the server lists; each
 * keeps its own keys. A model the server is still building is shown, disabled, as loading.
 */
export function ModelPicker({ models, selected, sessions, onSelect }: {
  models: State['models']
  selected?: string
  sessions: State['sessions']
  onSelect(model: string): void
}) {
  return (
    <section className="panel" aria-labelledby="models-title">
      <h2 id="models-title" className="panel-title">What to recognise</h2>
      {models.status === 'loading' && <p className="muted">Asking the server which models it offers…</p>}
      {models.status === 'error' && <p className="muted">The model list could not be loaded (see “Your keys”).</p>}
      <fieldset className="models" data-testid="model-picker">
        <legend className="visually-hidden">Model</legend>
        {models.list.map((m) => {
          const loading = stillLoading(m)
          const status = loading ? 'loading' : (sessions[m.name]?.status ?? 'idle')
          const id = `model-${m.name}`
          return (
            <label key={m.name} htmlFor={id} className={m.name === selected ? 'model selected' : 'model'} data-testid={`model-option-${m.name}`} data-loading={loading || undefined}>
              <input id={id} type="radio" name="model" value={m.name} checked={m.name === selected} disabled={loading} onChange={() => onSelect(m.name)} />
              <span className="model-name">{shortTitle(m)}</span>
              {STATUS[status] !== '' && <span className={`pill pill-${status}`}>{STATUS[status] ?? status}</span>}
            </label>
          )
        })}
      </fieldset>
    </section>
  )
}
