import { memo } from 'react'
import { bytes, ms } from '../format'
import { isSettled, type Item } from '../state'
import { FramePreview } from './FramePreview'
import { ProbabilityBars } from './ProbabilityBars'

const STATUS_TEXT: Record<Item['status'], string> = {
  queued: 'Queued',
  encrypting: 'Encrypting in this tab…',
  sending: 'Sending ciphertext…',
  computing: 'Server computing on ciphertext…',
  decrypting: 'Decrypting in this tab…',
  done: 'Done',
  error: 'Not classified',
}

export const ResultCard = memo(function ResultCard({ item, classes }: { item: Item; classes: string[] }) {
  const r = item.result
  return (
    <li
      className={`card status-${item.status}`}
      data-testid="result"
      data-status={item.status}
      data-prediction={item.status === 'done' && r ? String(r.prediction) : undefined}
      // exact decrypted values, for tests that check they never left the tab
      data-probabilities={r ? JSON.stringify(r.probabilities) : undefined}
      data-timings={r ? JSON.stringify({ ...r.timings, bytesSent: r.bytesSent, bytesReceived: r.bytesReceived }) : undefined}
      aria-busy={!isSettled(item.status)}
    >
      <div className="card-head">
        {item.frame ? <FramePreview frame={item.frame} label={`28 by 28 input for ${item.name}`} /> : <div className="frame frame-empty" aria-hidden="true" />}
        <div className="card-title">
          <p className="file-name" title={item.name}>{item.name}</p>
          <p className="card-status">{STATUS_TEXT[item.status]}</p>
          {r && (
            <p className="prediction">
              <span className="prediction-label">Prediction</span> <strong>{classes[r.prediction] ?? r.prediction}</strong>
            </p>
          )}
        </div>
      </div>
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
            <div><dt>Server compute</dt><dd>{ms(r.timings.serverMs)}</dd></div>
            <div><dt>Download</dt><dd>{ms(r.timings.downloadMs)}</dd></div>
            <div><dt>Decrypt</dt><dd>{ms(r.timings.decryptMs)}</dd></div>
            <div><dt>Sent</dt><dd>{bytes(r.bytesSent)}</dd></div>
            <div><dt>Received</dt><dd>{bytes(r.bytesReceived)}</dd></div>
          </dl>
        </>
      )}
    </li>
  )
})
