import { describe, expect, it } from 'vitest'
import { toInk } from './ink'
import { paperSurface } from './paper-light'

const W = 60
const H = 40
const borderOf = (w: number, h: number) => {
  const out: number[] = []
  for (let x = 0; x < w; x++) out.push(x, (h - 1) * w + x)
  for (let y = 1; y < h - 1; y++) out.push(y * w, y * w + w - 1)
  return out
}
/** a sheet whose light falls from 250 (left) to 150 (right), ink reflecting a sixth of it */
const litFromLeft = (x: number) => 250 - (100 * x) / (W - 1)
const stroke = (x: number, y: number) => (x >= 10 && x < 14 && y >= 0 && y < 30) || (x >= 46 && x < 50 && y >= 8 && y < 40)

function lumOf(paper: (x: number, y: number) => number): Float32Array {
  const lum = new Float32Array(W * H)
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) lum[y * W + x] = paper(x, y) * (stroke(x, y) ? 1 / 6 : 1)
  return lum
}

function rgba(lum: Float32Array) {
  const data = new Uint8ClampedArray(W * H * 4)
  lum.forEach((l, i) => data.set([l, l, l, 255], i * 4))
  return { width: W, height: H, data }
}

describe('paperSurface', () => {
  it('is flat on evenly lit paper, whatever touches the edge', () => {
    const surface = paperSurface(lumOf(() => 200), W, H, borderOf(W, H))
    expect(new Set(surface)).toEqual(new Set([200]))
  })

  it('follows light that falls across the sheet, ignoring strokes that reach the edge', () => {
    const surface = paperSurface(lumOf(litFromLeft), W, H, borderOf(W, H))
    for (const [x, y] of [[12, 5], [30, 20], [48, 35], [0, 0], [59, 39]]) expect(Math.abs(surface[y * W + x] - litFromLeft(x))).toBeLessThan(0.5)
  })

  it('never leaves the range of the border it kept', () => {
    // a border lit in a bowl shape: brighter at the corners than anywhere along the edges' middles
    const bowl = (x: number, y: number) => 150 + 40 * (((x - 30) / 30) ** 2 + ((y - 20) / 20) ** 2)
    const surface = paperSurface(lumOf(bowl), W, H, borderOf(W, H))
    const border = borderOf(W, H).filter((i) => !stroke(i % W, Math.floor(i / W)))
    const lo = Math.min(...border.map((i) => bowl(i % W, Math.floor(i / W))))
    const hi = Math.max(...border.map((i) => bowl(i % W, Math.floor(i / W))))
    for (const p of surface) {
      expect(p).toBeGreaterThanOrEqual(lo - 1e-3)
      expect(p).toBeLessThanOrEqual(hi + 1e-3)
    }
  })

  it('stays flat on a dark sheet whose object covers a third of two edges', () => {
    const lum = new Float32Array(W * H)
    for (let y = 0; y < H; y++) for (let x = 20; x < 40; x++) lum[y * W + x] = 180
    expect(new Set(paperSurface(lum, W, H, borderOf(W, H)))).toEqual(new Set([0]))
  })

  it('takes the median of a border too small to fit a surface to', () => {
    const lum = Float32Array.from([10, 200, 12, 11])
    expect(Array.from(paperSurface(lum, 2, 2, [0, 1, 2, 3]))).toEqual([12, 12, 12, 12])
  })
})

describe('toInk on a sheet lit from one side', () => {
  it('reads the paper as no ink, and a stroke in the shadow as strong as one in the light', () => {
    const ink = toInk(rgba(lumOf(litFromLeft)))
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (!stroke(x, y)) expect(ink.data[y * W + x]).toBeLessThan(8)
    const lit = ink.data[20 * W + 12]
    const shaded = ink.data[20 * W + 48]
    expect(lit).toBeGreaterThan(240)
    expect(Math.abs(lit - shaded)).toBeLessThan(8)
  })

  it('gives evenly lit paper the same ink as one paper value would', () => {
    const ink = toInk(rgba(lumOf(() => 230)))
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) expect(ink.data[y * W + x]).toBe(stroke(x, y) ? 255 : 0)
    expect(ink.contrast).toBe(Math.round(230 - 230 / 6))
  })
})
