import type { Item } from '../state'
import { FramePreview } from './FramePreview'

const STAGES = [
  { key: 'image', title: 'Your image', body: 'Read and shrunk in this tab' },
  { key: 'frame', title: 'Model input', body: 'What the model sees' },
  { key: 'encrypted', title: 'Encrypted', body: 'CKKS ciphertext, made here' },
  { key: 'computed', title: 'Computed on ciphertext', body: 'The server runs the CNN blind' },
  { key: 'decrypted', title: 'Decrypted here', body: 'Only this tab holds the key' },
]

/** The journey of the latest image, one step per box. */
export function StageStrip({ latest }: { latest?: Item }) {
  const reached = latest ? reachedIndex(latest) : -1
  return (
    <ol className="strip" aria-label="How an image is classified">
      {STAGES.map((s, i) => (
        <li key={s.key} className={i <= reached ? 'strip-step reached' : 'strip-step'}>
          <span className="strip-visual" aria-hidden="true">
            {s.key === 'frame' && latest?.frame ? <FramePreview frame={latest.frame} label="" /> : <span className={`glyph glyph-${s.key}`} />}
          </span>
          <span className="strip-title">{s.key === 'frame' && latest?.frame ? `${latest.frame.width}×${latest.frame.height}` : s.title}</span>
          <span className="strip-body">{s.body}</span>
        </li>
      ))}
    </ol>
  )
}

function reachedIndex(item: Item): number {
  switch (item.status) {
    case 'queued':
      return item.frame ? 1 : 0
    case 'encrypting':
      return 1
    case 'sending':
    case 'computing':
      return 2
    case 'decrypting':
      return 3
    case 'done':
      return 4
    case 'error':
    case 'cancelled':
      return item.frame ? 1 : 0
  }
}
