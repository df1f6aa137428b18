import { useEffect, useRef } from 'react'

/** The 28x28 frame the model sees, drawn as MNIST shows it: white ink on black. */
export function FramePreview({ frame, label }: { frame: Uint8Array; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    const ctx = ref.current?.getContext('2d')
    if (!ctx) return
    const img = ctx.createImageData(28, 28)
    for (let i = 0; i < 784; i++) {
      img.data[i * 4] = img.data[i * 4 + 1] = img.data[i * 4 + 2] = frame[i]
      img.data[i * 4 + 3] = 255
    }
    ctx.putImageData(img, 0, 0)
  }, [frame])
  return <canvas ref={ref} className="frame" width={28} height={28} role="img" aria-label={label} />
}
