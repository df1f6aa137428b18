import { useEffect, useRef, useState, type PointerEvent } from 'react'
import type { Rgba } from '../../image/ink'

const SIZE = 280

/** A canvas to draw a digit on, with mouse, touch or pen (pointer events). */
export function DrawPad({ onClassify }: { onClassify(rgba: Rgba): void }) {
  const ref = useRef<HTMLCanvasElement>(null)
  const last = useRef<{ x: number; y: number } | null>(null)
  const [empty, setEmpty] = useState(true)

  const ctx = () => ref.current?.getContext('2d', { willReadFrequently: true }) ?? null

  const clear = () => {
    const c = ctx()
    if (!c) return
    c.fillStyle = '#ffffff'
    c.fillRect(0, 0, SIZE, SIZE)
    setEmpty(true)
  }
  useEffect(clear, [])

  const point = (e: PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect()
    return { x: ((e.clientX - r.left) * SIZE) / r.width, y: ((e.clientY - r.top) * SIZE) / r.height }
  }

  const stroke = (to: { x: number; y: number }) => {
    const c = ctx()
    if (!c) return
    const from = last.current ?? to
    c.strokeStyle = '#111111'
    c.lineWidth = 18
    c.lineCap = 'round'
    c.lineJoin = 'round'
    c.beginPath()
    c.moveTo(from.x, from.y)
    c.lineTo(to.x, to.y)
    c.stroke()
    last.current = to
    setEmpty(false)
  }

  return (
    <section className="panel" aria-labelledby="draw-title">
      <h2 id="draw-title" className="panel-title">Draw one</h2>
      <canvas
        ref={ref}
        className="drawpad"
        data-testid="drawpad"
        width={SIZE}
        height={SIZE}
        aria-label="Drawing area: draw one digit or item with mouse, finger or pen"
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId)
          last.current = null
          stroke(point(e))
        }}
        onPointerMove={(e) => {
          if (last.current) stroke(point(e))
        }}
        onPointerUp={() => (last.current = null)}
        onPointerCancel={() => (last.current = null)}
      />
      <div className="actions">
        <button type="button" className="secondary" onClick={clear}>
          Clear
        </button>
        <button
          type="button"
          disabled={empty}
          onClick={() => {
            const c = ctx()
            if (!c) return
            const { data } = c.getImageData(0, 0, SIZE, SIZE)
            onClassify({ width: SIZE, height: SIZE, data })
          }}
        >
          Classify drawing
        </button>
      </div>
    </section>
  )
}
