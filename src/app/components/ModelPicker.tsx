import type { ListedModel } from '../../api/he-worker-types'
import { bytes, ms } from '../format'
import type { State } from '../state'

const STATUS: Record<string, string> = { ready: 'keys ready', error: 'keys failed', idle: '' }

/** What each model costs on this server, as the server measured it (never a guess of ours). */
function costLine(m: ListedModel): string {
  const size = m.cost.evaluationKeyBytes
  const keys = size === null ? 'key size not yet known' : m.cost.measured.evaluationKeys ? `keys ${bytes(size)}` : `keys up to ${bytes(size)}`
  const time = m.cost.serverMs ? `~${ms(m.cost.serverMs.median)} per image (median of ${m.cost.serverMs.samples} here)` : 'time per image not yet measured on this server'
  return `${keys} · ${time}`
}

/** The description's lead ("Clothing (Fashion-MNIST)") as the model's title, its architecture after the colon shown apart. */
function title(m: ListedModel): string {
  const lead = m.description.split(':')[0].trim()
  return lead || m.name
}

/** One radio per model the server lists, with its classes and costs; each keeps its own keys. */
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
          const status = sessions[m.name]?.status ?? 'idle'
          const id = `model-${m.name}`
          return (
            <label key={m.name} htmlFor={id} className={m.name === selected ? 'model selected' : 'model'}>
              <input id={id} type="radio" name="model" value={m.name} checked={m.name === selected} onChange={() => onSelect(m.name)} />
              <span className="model-text">
                <span className="model-name">
                  {title(m)}
                  {STATUS[status] !== '' && <span className={`pill pill-${status}`}>{STATUS[status] ?? status}</span>}
                </span>
                <span className="model-classes">{m.input.width}×{m.input.height} {m.input.channels === 3 ? 'colour' : 'gray'} · {m.classes.join(', ')}</span>
                <span className="model-cost">{costLine(m)}</span>
                <span className="model-arch">{m.name}: {m.description.split(':').slice(1).join(':').trim() || m.description}</span>
              </span>
            </label>
          )
        })}
      </fieldset>
    </section>
  )
}
