/**
 * "What the server sees" for one result, side by side: the model input this tab encrypted (it
 * never left), the ciphertext that was sent for it and the encrypted answer that came back before
 * decryption. The byte views are drawn from samples of the very bodies that crossed the wire
 * (taken in the HE worker); nothing here is encrypted again or made up for show.
 */
import { useEffect, useMemo, useRef } from 'react'
import { greyPixels, hexRows, WINDOW_SIDE, type WireExchange, type WireSample } from '../../api/wire-sample'
import { bytes } from '../format'
import type { Frame } from '../state'
import { FramePreview } from './FramePreview'
import './server-view.css'

/** A byte window drawn as a grey image, one pixel per byte. */
function ByteImage({ sample, label }: { sample: WireSample; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null)
  const { width, height, rgba } = useMemo(() => greyPixels(sample.window, WINDOW_SIDE), [sample])
  useEffect(() => {
    const ctx = ref.current?.getContext('2d')
    if (ctx) ctx.putImageData(new ImageData(rgba, width, height), 0, 0)
  }, [rgba, width, height])
  return <canvas ref={ref} className="sv-image sv-bytes" width={width} height={height} role="img" aria-label={label} />
}

function WirePanel({ testId, title, what, sample, note }: { testId: string; title: string; what: string; sample: WireSample; note?: string }) {
  const end = sample.windowOffset + sample.window.length
  return (
    <figure className="sv-panel" data-testid={testId} data-sha256={sample.sha256} data-bytes={sample.byteLength}>
      <figcaption>
        <strong>{title}</strong> {what}, {bytes(sample.byteLength)}
      </figcaption>
      <ByteImage
        sample={sample}
        label={`Bytes ${sample.windowOffset} to ${end - 1} of the ${what} drawn as grey pixels, one per byte: noise, nothing of the image`}
      />
      <p className="sv-note">
        Bytes {sample.windowOffset}–{end - 1} of {sample.byteLength}, one grey pixel per byte. Its first {sample.head.length} bytes in hex (42 4c 46 44 is &ldquo;BLFD&rdquo;, the container&apos;s mark):
      </p>
      <pre className="sv-hex" data-testid="hex">{hexRows(sample.head).join('\n')}</pre>
      <p className="sv-note">
        SHA-256 of all {sample.byteLength} bytes: <code className="sv-hash" data-testid="sha256">{sample.sha256}</code>
      </p>
      {note && <p className="sv-note">{note}</p>}
    </figure>
  )
}

export function ServerView({ id, name, frame, wire }: { id: string; name: string; frame: Frame; wire: WireExchange }) {
  return (
    <div id={id} className="server-view" data-testid="server-view" role="group" aria-label={`What the server sees of ${name}`}>
      <figure className="sv-panel" data-testid="wire-input">
        <figcaption>
          <strong>Stayed in this tab</strong> the model&apos;s input, {frame.width}×{frame.height}, encrypted here
        </figcaption>
        <div className="sv-input">
          <FramePreview frame={frame} label={`The ${frame.width} by ${frame.height} model input for ${name}, enlarged; it never left this tab`} />
        </div>
        <p className="sv-note">The server never receives these pixels, only the ciphertext beside them.</p>
      </figure>
      <WirePanel
        testId="wire-sent"
        title="Sent to the server"
        what="ciphertext"
        sample={wire.sent}
        note="The privacy inspector lists this request with the first 16 digits of this hash."
      />
      <WirePanel testId="wire-received" title="Came back" what="encrypted answer" sample={wire.received} note="Only this tab's secret key turns it into the scores above." />
    </div>
  )
}
