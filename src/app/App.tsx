import { lazy, Suspense } from 'react'
import { CameraCapture } from './components/CameraCapture'
import { DownloadResults } from './components/DownloadResults'
import { ExampleGallery } from './components/ExampleGallery'
import { ExamplesPlaceholder } from './components/ExamplesPlaceholder'
import { InputPanel } from './components/InputPanel'
import { ModelPicker } from './components/ModelPicker'
import { ResultCard } from './components/ResultCard'
import { ServerWarmup } from './components/ServerWarmup'
import { SessionPanel } from './components/SessionPanel'
import { StageStrip } from './components/StageStrip'
import { IDLE, isSettled, queuePlace, selectedModel, type Session, type State } from './state'
import { useBlindfold } from './use-blindfold'
import { useSamples } from './use-samples'

// Parts that a phone shows below its first screen come in chunks of their own, fetched once the page
// has rendered: the first render is a shorter task, and the page's script smaller.
const DrawPad = lazy(() => import('./components/DrawPad').then((m) => ({ default: m.DrawPad })))
const ModelFacts = lazy(() => import('./components/ModelFacts').then((m) => ({ default: m.ModelFacts })))
const PrivacyInspector = lazy(() => import('./components/PrivacyInspector').then((m) => ({ default: m.PrivacyInspector })))

/** The selected model's session; before there is one, the model list's own failure (the server is down, say). */
function shownSession(state: State): Session {
  if (state.selected) return state.sessions[state.selected] ?? IDLE
  if (state.models.status === 'error') return { status: 'error', error: state.models.error }
  return IDLE
}

export function App() {
  const { state, select, addFiles, addImage, addExample, cancel, newKeys, retry, clearDone } = useBlindfold()
  const model = selectedModel(state)
  const samples = useSamples(state.selected)
  // the gallery's place is held until the model list and the model's samples have come
  const examplesPending = state.models.status === 'loading' || samples.loading
  const classesOf = (name: string) => state.models.list.find((m) => m.name === name)?.classes ?? []
  const pending = state.items.filter((i) => !isSettled(i.status)).length
  const isPhoto = model?.input.preprocess === 'photo'
  return (
    <>
      {/* the skip link and the masthead are static HTML in index.html: they paint before this script runs */}
      <main className="layout">
        <div className="column inputs">
          <div className="area-picker">
            <ServerWarmup reason={state.warming} />
            <ModelPicker models={state.models} selected={state.selected} sessions={state.sessions} onSelect={select} />
          </div>
          <div className="area-examples">
            {examplesPending ? <ExamplesPlaceholder /> : <ExampleGallery samples={samples.list} classes={model?.classes ?? []} onPick={addExample} />}
          </div>
          <div className="area-input">
            <InputPanel onFiles={addFiles} hint={isPhoto ? 'One object per photo, filling most of it.' : 'One item per image, on a plain background.'}>
              {isPhoto && <CameraCapture onCapture={addImage} />}
            </InputPanel>
          </div>
          <div className="area-session">
            <SessionPanel model={state.selected} session={shownSession(state)} onNewKeys={newKeys} onRetry={retry} />
          </div>
          {model && !isPhoto && (
            <div className="area-draw">
              <Suspense fallback={null}>
                <DrawPad onClassify={(rgba) => addImage('drawing', rgba)} />
              </Suspense>
            </div>
          )}
          {model && (
            <div className="area-facts">
              <Suspense fallback={null}>
                <ModelFacts model={model} />
              </Suspense>
            </div>
          )}
        </div>
        <div className="column outputs">
          <div className="area-strip">
            <StageStrip latest={state.items.find((i) => i.status !== 'error' && i.status !== 'cancelled') ?? state.items[0]} />
          </div>
          <section className="panel area-results" aria-labelledby="results-title" id="results">
            <div className="session-row">
              <h2 id="results-title" className="panel-title">Results</h2>
              <p className="muted" role="status" aria-live="polite">
                {pending ? `${pending} in progress` : state.items.length ? `${state.items.length} classified` : ''}
              </p>
              {state.items.length > 0 && pending === 0 && (
                <button type="button" className="secondary small" onClick={clearDone}>
                  Clear
                </button>
              )}
            </div>
            {state.items.length > pending && <DownloadResults items={state.items} classesOf={classesOf} />}
            {state.items.length === 0 ? (
              <p className="muted empty">No images yet. Choose a model, then drop, choose, paste{isPhoto ? ' or take a photo' : ' or draw'}.</p>
            ) : (
              <ul className="gallery">
                {state.items.map((item) => (
                  <ResultCard key={item.id} item={item} classes={classesOf(item.model)} place={item.status === 'queued' ? queuePlace(state, item.id) : 0} onCancel={cancel} />
                ))}
              </ul>
            )}
          </section>
          <div className="area-privacy">
            <Suspense fallback={null}>
              <PrivacyInspector sessions={state.sessions} selected={state.selected} requests={state.requests} />
            </Suspense>
          </div>
        </div>
      </main>
      <footer className="footer">Encryption and decryption run in a Web Worker in this tab (Microsoft SEAL, CKKS).</footer>
    </>
  )
}
