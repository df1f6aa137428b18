import { memo, useState } from 'react'
import { bytes, ms } from '../format'
import { isSettled, type Item } from '../state'
import { FramePreview } from './FramePreview'
import { ProbabilityBars } from './ProbabilityBars'
import { ServerView } from './ServerView'
import { TrueLabel } from './TrueLabel'

const STATUS_TEXT: Record<Item['status'], string> = {
  queued: 'Queued',
  encrypting: 'Encrypting in this tab…',
  sending: 'Sending ciphertext…',
  computing: 'Server computing on ciphertext…',
  decrypting: 'Decrypting in this tab…',
  done: 'Done',
  error: 'Not classified',
  cancelled: 'Cancelled',
}

function ordinal(n: number): string {
  if (n % 100 >= 11 && n % 100 <= 13) return `${n}th`
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`
}

/** What the card says while it waits: its place in this tab's queue, or the server's own progress. */
function progressText(item: Item, place: number): string {
  if (item.status === 'queued') return place > 0 ? `Queued: ${ordinal(place)} in line in this tab` : 'Queued'
  const p = item.server
  if (item.status !== 'computing' || !p) return STATUS_TEXT[item.status]
  if (p.state === 'queued') return `Waiting on the server: ${p.queuePosition ?? 0} ahead`
  if (p.state === 'running') return `Server computing on ciphertext: step ${Math.min(p.done + 1, p.total)} of ${p.total}${p.stage ? ` (${p.stage})` : ''}`
  return STATUS_TEXT.computing
}

export const ResultCard = memo(function ResultCard({ item, classes, place, onCancel }: { item: Item; classes: string[]; place: number; onCancel(id: number): void }) {
  const r = item.result
  const settled = isSettled(item.status)
  const server = item.status === 'computing' ? item.server : undefined
  const inputLabel = item.frame ? `${item.frame.width} by ${item.frame.height} input for ${item.name}` : ''
  const [viewOpen, setViewOpen] = useState(false)
  const viewId = `server-view-${item.id}`
  return (
    <li
      className={`card status-${item.status}${viewOpen ? ' server-view-open' : ''}`}
      data-testid="result"
      data-status={item.status}
      data-model={item.model}
      data-prediction={item.status === 'done' && r ? String(r.prediction) : undefined}
      data-truth={item.truth}
      // exact decrypted values, for tests that check they never left the tab
      data-probabilities={r ? JSON.stringify(r.probabilities) : undefined}
      data-timings={r ? JSON.stringify({ ...r.timings, bytesSent: r.bytesSent, bytesReceived: r.bytesReceived }) : undefined}
      data-server-workers={r ? String(r.serverWorkers) : undefined}
      data-server-done={server ? String(server.done) : undefined}
      data-server-total={server ? String(server.total) : undefined}
      aria-busy={!settled}
    >
      <div className="card-head">
        {item.frame ? <FramePreview frame={item.frame} label={inputLabel} /> : <div className="frame frame-empty" aria-hidden="true" />}
        <div className="card-title">
          <p className="file-name" title={item.name}>{item.name}</p>
          <p className="card-status" data-testid="card-status">{progressText(item, place)}</p>
          {r && (
            <p className="prediction">
              <span className="prediction-label">Prediction</span> <strong>{classes[r.prediction] ?? r.prediction}</strong>
            </p>
          )}
          {item.truth !== undefined && <TrueLabel truth={item.truth} classes={classes} prediction={r?.prediction} />}
          <p className="card-model">{item.model}</p>
        </div>
      </div>
      {server && server.total > 0 && (
        <progress className="server-progress" max={server.total} value={server.state === 'running' || server.state === 'done' ? server.done : 0} aria-label={`Server progress for ${item.name}`} />
      )}
      {!settled && (
        <div className="actions">
          <button type="button" className="secondary small" onClick={() => onCancel(item.id)} aria-label={`Cancel ${item.name}`}>
            Cancel
          </button>
        </div>
      )}
      {item.status === 'error' && (
        <p className="error" role="alert" data-testid="error">
          {item.error}
        </p>
      )}
      {r && (
        <>
          <ProbabilityBars probabilities={r.probabilities} classes={classes} prediction={r.prediction} />
          <dl className="timings">
            <div><dt>Encrypt</dt><dd>{ms(r.timings.encryptMs)}</dd></div>
            <div><dt>Upload</dt><dd>{ms(r.timings.uploadMs)}</dd></div>
            <div><dt>Server compute</dt><dd>{ms(r.timings.serverMs)}{r.serverWorkers > 1 ? ` (${r.serverWorkers} cores)` : ''}</dd></div>
            <div><dt>Download</dt><dd>{ms(r.timings.downloadMs)}</dd></div>
            <div><dt>Decrypt</dt><dd>{ms(r.timings.decryptMs)}</dd></div>
            <div><dt>Sent</dt><dd>{bytes(r.bytesSent)}</dd></div>
            <div><dt>Received</dt><dd>{bytes(r.bytesReceived)}</dd></div>
          </dl>
        </>
      )}
      {item.wire && item.frame && (
        <>
          <button
            type="button"
            className="secondary server-view-toggle"
            data-testid="server-view-toggle"
            aria-expanded={viewOpen}
            aria-controls={viewOpen ? viewId : undefined}
            onClick={() => setViewOpen((open) => !open)}
          >
            What the server sees
          </button>
          {viewOpen && <ServerView id={viewId} name={item.name} frame={item.frame} wire={item.wire} />}
        </>
      )}
    </li>
  )
})
