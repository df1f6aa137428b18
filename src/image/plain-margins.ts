/**
 * Plain margins around a picture: letterbox bars, the page and bars of a screenshot, a plain
 * backdrop an object sits off-centre on, a transparent surround (white once composited). A line
 * (row or column) is plain when every pixel on it is within PLAIN_TOLERANCE of that line's
 * reference colour, the per-channel median of the outermost line on its side; the margins are
 * peeled from all four sides, again and again, so bars of several colours (a status bar, then a
 * page) come off one after the other. A side is peeled again only for a colour that differs from
 * the one it last peeled by more than NEW_BAR, so a smooth gradient (a sky, a shaded object) is
 * not eaten away a tolerance at a time.
 */
import type { Raster } from './resize'

/** Largest difference from the reference colour, per channel (0..255), that still counts as plain. */
export const PLAIN_TOLERANCE = 10
/** How far (largest channel difference) a side's next plain colour must be from its last to be a bar of its own. */
export const NEW_BAR = 3 * PLAIN_TOLERANCE

/** Columns x0 <= x < x1, rows y0 <= y < y1. */
export interface Box {
  x0: number
  y0: number
  x1: number
  y1: number
}

/** The part of `src` left once its plain margins are peeled off (at least one pixel). */
export function unplainBox(src: Raster, tolerance = PLAIN_TOLERANCE): Box {
  const box: Box = { x0: 0, y0: 0, x1: src.width, y1: src.height }
  const peeled: Partial<Record<keyof Box, number[]>> = {}
  for (let changed = true; changed; ) {
    changed = false
    for (const side of ['y0', 'y1', 'x0', 'x1'] as const) {
      const colour = peel(src, box, side, tolerance, peeled[side], NEW_BAR * (tolerance / PLAIN_TOLERANCE))
      if (colour) [peeled[side], changed] = [colour, true]
    }
  }
  return box
}

/**
 * Moves one side of `box` inwards past the lines as plain as its outermost one, unless their
 * colour is within `newBar` of the colour this side last peeled; the colour peeled, if any.
 */
function peel(src: Raster, box: Box, side: keyof Box, tolerance: number, last: number[] | undefined, newBar: number): number[] | undefined {
  const rows = side === 'y0' || side === 'y1'
  const inward = side === 'x0' || side === 'y0' ? 1 : -1
  const lineAt = () => (inward === 1 ? box[side] : box[side] - 1)
  const ref = medianColour(src, box, rows, lineAt())
  if (last && ref.every((v, c) => Math.abs(v - last[c]) <= newBar)) return undefined
  const start = box[side]
  while ((rows ? box.y1 - box.y0 : box.x1 - box.x0) > 1 && isPlain(src, box, rows, lineAt(), ref, tolerance)) box[side] += inward
  return box[side] !== start ? ref : undefined
}

function* pixelsOf(src: Raster, box: Box, rows: boolean, line: number): Generator<number> {
  if (rows) for (let x = box.x0; x < box.x1; x++) yield (line * src.width + x) * src.channels
  else for (let y = box.y0; y < box.y1; y++) yield (y * src.width + line) * src.channels
}

function medianColour(src: Raster, box: Box, rows: boolean, line: number): number[] {
  const C = src.channels
  const hist = Array.from({ length: C }, () => new Uint32Array(256))
  let n = 0
  for (const at of pixelsOf(src, box, rows, line)) {
    for (let c = 0; c < C; c++) hist[c][src.data[at + c]]++
    n++
  }
  return hist.map((h) => {
    let seen = 0
    for (let v = 0; v < 256; v++) if ((seen += h[v]) > n >> 1) return v
    return 255
  })
}

function isPlain(src: Raster, box: Box, rows: boolean, line: number, ref: number[], tolerance: number): boolean {
  const C = src.channels
  for (const at of pixelsOf(src, box, rows, line)) for (let c = 0; c < C; c++) if (Math.abs(src.data[at + c] - ref[c]) > tolerance) return false
  return true
}
