import { describe, expect, it } from 'vitest'
import { loadMnistSplit } from '../datasets'
import type { Gray } from './ink'
import { removeRuling } from './ruled-lines'

const W = 240
const H = 200
const mnist = loadMnistSplit('test')

/** Ink of test digit `index` drawn at 5x from (ox, oy), turned by `degrees` with the page. */
function digitInk(index: number, ox: number, oy: number, degrees: number): (x: number, y: number) => number {
  const a = (degrees * Math.PI) / 180
  return (x, y) => {
    const u = x * Math.cos(a) + y * Math.sin(a)
    const v = -x * Math.sin(a) + y * Math.cos(a)
    const [gx, gy] = [Math.floor((u - ox) / 5), Math.floor((v - oy) / 5)]
    return gx >= 0 && gy >= 0 && gx < 28 && gy < 28 ? mnist.images[index * 784 + gy * 28 + gx] : 0
  }
}

/** Printed lines at `level` of ink where `line(u, v)` holds, in page coordinates turned by `degrees`. */
function ruling(line: (u: number, v: number) => boolean, degrees: number, level = 70): (x: number, y: number) => number {
  const a = (degrees * Math.PI) / 180
  return (x, y) => (line(x * Math.cos(a) + y * Math.sin(a), -x * Math.sin(a) + y * Math.cos(a)) ? level : 0)
}

function gray(...layers: ((x: number, y: number) => number)[]): Gray {
  const data = new Uint8Array(W * H)
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = Math.max(...layers.map((f) => f(x + 0.5, y + 0.5)))
  return { width: W, height: H, data }
}

/** Whether the digit has ink within 6 px (a printed line's band) of pixel (x, y). */
function nearStroke(digit: (x: number, y: number) => number, x: number, y: number): boolean {
  for (let dy = -6; dy <= 6; dy++) for (let dx = -6; dx <= 6; dx++) if (digit(x + dx + 0.5, y + dy + 0.5) >= 16) return true
  return false
}

const every = (period: number, width: number) => (t: number) => ((t % period) + period) % period < width

describe('removeRuling', () => {
  const pages: [string, number, (u: number, v: number) => boolean][] = [
    ['a ruled page', 0, (_, v) => every(22, 1)(v)],
    ['a ruled page photographed 2.5 degrees askew, lines 2 px', 2.5, (_, v) => every(24, 2)(v)],
    ['a college-ruled page with its margin rule, 1.5 degrees the other way', -1.5, (u, v) => every(14, 1)(v) || (u >= 20 && u < 22)],
    ['a squared page, 2 degrees askew', 2, (u, v) => every(18, 1)(u) || every(18, 1)(v)],
  ]
  for (const [what, degrees, line] of pages) {
    it(`takes the lines off ${what} and keeps the digit`, () => {
      for (const index of [0, 1, 2, 3, 4, 7, 8, 11]) {
        const digit = digitInk(index, 50, 30, degrees)
        const ink = gray(digit, ruling(line, degrees))
        expect(removeRuling(ink), `test digit ${index}`).toBeGreaterThanOrEqual(2)
        let residue = 0
        let strong = 0
        let kept = 0
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            const clean = digit(x + 0.5, y + 0.5)
            const left = ink.data[y * W + x]
            // nothing as strong as the box threshold is left away from the strokes (where a line
            // meets a stroke, a line's width of it may stay beside the stroke)
            if (left >= 64 && !nearStroke(digit, x, y)) residue++
            if (clean >= 128) (strong++, (kept += left >= clean ? 1 : 0))
          }
        }
        expect(residue, `test digit ${index}`).toBe(0)
        expect(kept / strong, `test digit ${index}`).toBeGreaterThanOrEqual(0.97)
      }
    })
  }

  it('takes the lines off a ruled sheet lying on a desk, 10 degrees askew, judged on the sheet', () => {
    // the sheet: 60% of the picture's width; off it the ink is already nothing (toInk's sheet)
    const a = (10 * Math.PI) / 180
    const onSheet = (x: number, y: number) => {
      const [u, v] = [(x - 120) * Math.cos(a) + (y - 100) * Math.sin(a), -(x - 120) * Math.sin(a) + (y - 100) * Math.cos(a)]
      return Math.abs(u) < 72 && Math.abs(v) < 80
    }
    const page = new Uint8Array(W * H).map((_, i) => (onSheet((i % W) + 0.5, Math.floor(i / W) + 0.5) ? 1 : 0))
    for (const index of [0, 2, 5, 9]) {
      const digit = digitInk(index, 85, 50, 10)
      const lines = ruling((_, v) => every(20, 1)(v), 10)
      const drawn = (x: number, y: number) => (onSheet(x, y) ? Math.max(digit(x, y), lines(x, y)) : 0)
      const ink = gray(drawn)
      // judged on the whole picture, the sheet's lines are too short to be ruling
      expect(removeRuling(gray(drawn)), `test digit ${index}`).toBe(0)
      expect(removeRuling(ink, page), `test digit ${index}`).toBeGreaterThanOrEqual(2)
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (ink.data[y * W + x] >= 64) expect(nearStroke(digit, x, y), `test digit ${index} at ${x}, ${y}`).toBe(true)
    }
  })

  it('leaves a digit on plain paper as it is, whatever its strokes', () => {
    for (let index = 0; index < 100; index++) {
      const ink = gray(digitInk(index, 20 + (index % 60), 10 + (index % 40), 0))
      const before = Uint8Array.from(ink.data)
      expect(removeRuling(ink), `test digit ${index}`).toBe(0)
      expect(ink.data).toEqual(before)
    }
  })

  it('leaves a single line, and thick bars, which are not ruling', () => {
    const single = gray(digitInk(5, 50, 30, 0), ruling((_, v) => v >= 100 && v < 101, 0))
    const bars = gray(ruling((u, v) => u > 10 && u < 230 && ((v >= 60 && v < 80) || (v >= 120 && v < 140)), 0, 255))
    for (const ink of [single, bars]) {
      const before = Uint8Array.from(ink.data)
      expect(removeRuling(ink)).toBe(0)
      expect(ink.data).toEqual(before)
    }
  })

  it('leaves a picture too small to be a photo of a page', () => {
    const ink = { width: 28, height: 28, data: new Uint8Array(28 * 28).map((_, i) => (Math.floor(i / 28) % 7 === 0 ? 80 : 0)) }
    expect(removeRuling(ink)).toBe(0)
  })
})
