import { bytes, ms } from '../format'
import type { Session } from '../state'

const LABEL: Record<Session['status'], string> = {
  idle: 'Starting…',
  loading: 'Loading encryption library…',
  keygen: 'Generating your keys in this tab…',
  uploading: 'Uploading evaluation keys…',
  ready: 'Keys ready',
  error: 'Not connected',
}

/** Where the session's time went, for benchmarks (bench-e2e reads it). */
function timingsOf(session: Session): string | undefined {
  const i = session.info
  if (!i) return undefined
  return JSON.stringify({ prepareMs: i.prepareMs, contextMs: i.contextMs, planMs: i.planMs, keygenMs: i.keygenMs, fingerprintMs: i.fingerprintMs, uploadMs: i.uploadMs, totalMs: i.totalMs })
}

/** The selected model's key session: its progress while made, its facts once ready. */
export function SessionPanel({ model, session, onNewKeys, onRetry }: { model?: string; session: Session; onNewKeys(): void; onRetry(): void }) {
  const p = session.progress
  const uploading = session.status === 'uploading' && p?.total
  return (
    <section className="session panel" aria-labelledby="session-title" data-testid="session" data-status={session.status} data-model={model} data-timings={timingsOf(session)}>
      <div className="session-row">
        <h2 id="session-title" className="panel-title">Your keys{model ? ` for ${model}` : ''}</h2>
        <span className={`pill pill-${session.status}`} role="status" aria-live="polite">
          {LABEL[session.status]}
          {uploading ? ` ${Math.round(((p.loaded ?? 0) / p.total!) * 100)}%` : ''}
        </span>
      </div>
      {uploading ? <progress className="upload" max={p.total} value={p.loaded ?? 0} aria-label="Evaluation keys uploaded" /> : null}
      {session.status === 'keygen' && <progress className="upload" aria-label="Generating keys" />}
      {session.info && (
        <p className="session-facts">
          Secret key: stays in this tab. Evaluation keys: {bytes(session.info.evaluationKeyBytes)}, made in {ms(session.info.contextMs + session.info.keygenMs)}, uploaded in{' '}
          {ms(session.info.uploadMs)}. Fingerprint <code>{session.info.keyFingerprint}</code>.
        </p>
      )}
      {session.status === 'error' && (
        <p className="error" role="alert" data-testid="error">
          {session.error}
        </p>
      )}
      <div className="actions">
        {session.status === 'error' && (
          <button type="button" onClick={onRetry}>
            Try again
          </button>
        )}
        <button type="button" className="secondary" onClick={onNewKeys} disabled={session.status !== 'ready' && session.status !== 'error'}>
          New keys
        </button>
      </div>
    </section>
  )
}
