import { DrawPad } from './components/DrawPad'
import { InputPanel } from './components/InputPanel'
import { PrivacyInspector } from './components/PrivacyInspector'
import { ResultCard } from './components/ResultCard'
import { SessionPanel } from './components/SessionPanel'
import { StageStrip } from './components/StageStrip'
import { isSettled } from './state'
import { useBlindfold } from './use-blindfold'

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

export function App() {
  const { state, addFiles, addDrawing, newKeys, retry, clearDone } = useBlindfold()
  const classes = state.session.info?.model.classes ?? DIGITS
  const pending = state.items.filter((i) => !isSettled(i.status)).length
  return (
    <>
      <a className="skip" href="#results">Skip to results</a>
      <header className="masthead">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <div>
            <h1>Blindfold</h1>
            <p className="tagline">Digit recognition on encrypted images. The server computes the answer without ever seeing your image or the answer.</p>
          </div>
        </div>
      </header>
      <main className="layout">
        <div className="column inputs">
          <SessionPanel session={state.session} onNewKeys={newKeys} onRetry={retry} />
          <InputPanel onFiles={addFiles} />
          <DrawPad onClassify={addDrawing} />
        </div>
        <div className="column outputs">
          <StageStrip latest={state.items.find((i) => i.status !== 'error') ?? state.items[0]} />
          <section className="panel" aria-labelledby="results-title" id="results">
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
            {state.items.length === 0 ? (
              <p className="muted empty">No images yet. Drop, choose, paste or draw a digit.</p>
            ) : (
              <ul className="gallery">
                {state.items.map((item) => (
                  <ResultCard key={item.id} item={item} classes={classes} />
                ))}
              </ul>
            )}
          </section>
          <PrivacyInspector info={state.session.info} requests={state.requests} />
        </div>
      </main>
      <footer className="footer">Encryption and decryption run in a Web Worker in this tab (Microsoft SEAL, CKKS).</footer>
    </>
  )
}
