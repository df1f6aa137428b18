import { useEffect, useRef } from 'react'
import type { Frame } from '../state'

/** The input the model sees, pixel for pixel (enlarged by CSS with crisp pixels): gray frames as their dataset shows them, photos in colour. */
export function FramePreview({ frame, label }: { frame: Frame; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    const ctx = ref.current?.getContext('2d')
    if (!ctx) return
    const { pixels, width, height, channels } = frame
    const img = ctx.createImageData(width, height)
    for (let i = 0; i < width * height; i++) {
      for (let c = 0; c < 3; c++) img.data[i * 4 + c] = pixels[i * channels + (channels === 3 ? c : 0)]
      img.data[i * 4 + 3] = 255
    }
    ctx.putImageData(img, 0, 0)
  }, [frame])
  return (
    <canvas
      ref={ref}
      className="frame"
      width={frame.width}
      height={frame.height}
      data-channels={frame.channels}
      role={label ? 'img' : undefined}
      aria-label={label || undefined}
      aria-hidden={label ? undefined : true}
    />
  )
}
