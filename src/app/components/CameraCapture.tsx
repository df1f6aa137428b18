import { useEffect, useRef, useState } from 'react'

type CameraState = { status: 'off' } | { status: 'starting' } | { status: 'live'; stream: MediaStream } | { status: 'error'; message: string }

/** What went wrong, in words a person can act on (getUserMedia's DOMException names). */
function cameraMessage(e: unknown): string {
  const name = e instanceof DOMException ? e.name : ''
  if (name === 'NotAllowedError' || name === 'SecurityError')
    return 'Camera access was denied. Allow the camera for this site in the browser settings, or choose a photo instead.'
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No camera was found on this device. Choose a photo instead.'
  if (name === 'NotReadableError' || name === 'AbortError') return 'The camera is in use by another application or could not start. Close it there, or choose a photo instead.'
  return `The camera could not start${e instanceof Error && e.message ? ` (${e.message})` : ''}. Choose a photo instead.`
}

/**
 * "Take a photo": a live preview from getUserMedia and a capture button. The
 * frame is read into this tab's memory only; it goes the way of any photo
 * (downscaled and preprocessed in the image worker, encrypted in the HE
 * worker). The stream stops after capture.
 */
export function CameraCapture({ onCapture }: { onCapture(name: string, frame: ImageBitmap): void }) {
  const [state, setState] = useState<CameraState>({ status: 'off' })
  const video = useRef<HTMLVideoElement>(null)
  const shots = useRef(0)

  const stream = state.status === 'live' ? state.stream : undefined
  useEffect(() => {
    if (!stream) return
    if (video.current) video.current.srcObject = stream
    return () => stream.getTracks().forEach((t) => t.stop())
  }, [stream])

  const start = async () => {
    if (!navigator.mediaDevices?.getUserMedia) {
      setState({ status: 'error', message: 'This browser offers no camera to this page (it needs HTTPS or localhost). Choose a photo instead.' })
      return
    }
    setState({ status: 'starting' })
    try {
      const s = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false })
      setState({ status: 'live', stream: s })
    } catch (e) {
      setState({ status: 'error', message: cameraMessage(e) })
    }
  }

  const capture = async () => {
    const v = video.current
    if (!v || v.videoWidth === 0) return
    let frame: ImageBitmap
    try {
      // a copy of the current frame, taken off the main thread; the image worker downscales it
      frame = await createImageBitmap(v)
    } catch (e) {
      setState({ status: 'error', message: `The camera frame could not be read${e instanceof Error && e.message ? ` (${e.message})` : ''}. Try again, or choose a photo instead.` })
      return
    }
    shots.current++
    setState({ status: 'off' })
    onCapture(`camera photo ${shots.current}`, frame)
  }

  return (
    <div className="camera" data-testid="camera" data-status={state.status}>
      {state.status === 'live' ? (
        <>
          <video ref={video} autoPlay playsInline muted aria-label="Camera preview" />
          <div className="actions">
            <button type="button" onClick={capture}>
              Capture
            </button>
            <button type="button" className="secondary" onClick={() => setState({ status: 'off' })}>
              Close camera
            </button>
          </div>
        </>
      ) : (
        <button type="button" className="secondary" onClick={start} disabled={state.status === 'starting'}>
          {state.status === 'starting' ? 'Starting camera…' : 'Take a photo'}
        </button>
      )}
      {state.status === 'error' && (
        <p className="error" role="alert" data-testid="camera-error">
          {state.message}
        </p>
      )}
    </div>
  )
}
