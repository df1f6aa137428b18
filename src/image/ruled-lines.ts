/**
 * Ruled and squared paper: the printed lines of a notebook page read as faint ink, and since they
 * run across the whole page the digit's box takes the whole page with them. Ruling is told from
 * strokes by its shape: straight lines at most RULING_MAX_TILT off the picture's axes (a page
 * photographed askew, a sheet turned on a desk), thin, with a mark at RULING_MIN_COVERAGE of the
 * positions along them in view (on a sheet lying on a desk, on the sheet), and at least two
 * parallel ones: a page is ruled, and a digit's bars are thick next to the picture and never run
 * the whole way across in twos. On a ruled page a single line across the ruling (the
 * margin rule) goes too, as do lines a tilted photo cuts short at its corners. A line's pixels are
 * cleared wherever no stroke lies beside it; where a stroke crosses or runs along it, they stay.
 * Why: docs/decisions/ruled-paper.md.
 */
import type { Gray } from './ink'

/** Ink (0-255, stretched) that counts as a mark. */
export const RULING_MIN_INK = 16
/** Ink beside a line at least this strong is a stroke crossing or running along it (the digit rule's box threshold). */
export const RULING_STROKE_INK = 64
/** The share of the positions along a line that must carry a mark. */
export const RULING_MIN_COVERAGE = 0.8
/** The share of the positions along a line where it must show as a thin mark (a digit may hide the rest). */
export const RULING_MIN_VOTES = 0.3
/** The tilts tried either way, in degrees, and the step between them. */
export const RULING_MAX_TILT = 15
export const RULING_TILT_STEP = 0.25
/** A printed line is at most this thick: max(RULING_MAX_THICKNESS, RULING_MAX_THICKNESS_SHARE of the side across it), in pixels. */
export const RULING_MAX_THICKNESS = 3
export const RULING_MAX_THICKNESS_SHARE = 0.02
/** On a ruled page, a line cut short by a corner goes too when this many of its pixels are in view. */
export const RULING_MIN_FRAGMENT = 4
/** Pictures smaller than this on either side are not photos of a page. */
export const RULING_MIN_SIDE = 48

/** Lines of one orientation, at one slope: each band a run of adjacent offsets. */
interface Lines {
  along: Along
  slope: number
  /** the lines in view along at least half the longest line the picture (or the sheet) holds: these say whether the page is ruled */
  bands: number[][]
  /** those and the lines cut short by the picture's corners (a tilted photo), once it is */
  all: number[][]
}

/** 'rows': lines across the picture (y = offset + x tan a); 'columns': lines down it (x = offset + y tan a). */
type Along = 'rows' | 'columns'

/**
 * Removes ruling from `ink` in place; the number of printed lines removed. `page`, where given
 * (1 on a sheet found lying on a surface), is where lines may run: off it is out of view.
 */
export function removeRuling(ink: Gray, page?: Uint8Array): number {
  if (ink.width < RULING_MIN_SIDE || ink.height < RULING_MIN_SIDE) return 0
  const rows = printedLines(ink, 'rows', page)
  const columns = printedLines(ink, 'columns', page)
  if (rows.bands.length < 2 && columns.bands.length < 2) return 0
  // cleared once both are found, so neither orientation's search sees the other's gaps
  for (const lines of [rows, columns]) for (const band of lines.all) clear(ink, lines, band, page)
  return rows.all.length + columns.all.length
}

/** Pixel (p along a line, q across the lines) of the picture, or -1 outside it or off the page. */
function pixelOf(ink: Gray, along: Along, page: Uint8Array | undefined): (p: number, q: number) => number {
  const { width, height } = ink
  const on = (i: number) => (page === undefined || page[i] === 1 ? i : -1)
  return along === 'rows'
    ? (p, q) => (q >= 0 && q < height ? on(q * width + p) : -1)
    : (p, q) => (q >= 0 && q < width ? on(p * width + q) : -1)
}

/**
 * The printed lines of one orientation. Only thin marks vote for where lines lie (a mark with
 * paper a line's thickness away on both sides across it), so a digit's body does not; the tilt
 * is the one that stacks those votes most sharply (the largest sum of squared counts per offset,
 * the straighter among equals), and the lines are the thin runs of offsets that hold votes along
 * RULING_MIN_VOTES of their length in view (at least half the longest line in view), with marks
 * at RULING_MIN_COVERAGE of the positions along them.
 */
function printedLines(ink: Gray, along: Along, page: Uint8Array | undefined): Lines {
  const [length, across] = along === 'rows' ? [ink.width, ink.height] : [ink.height, ink.width]
  const pixel = pixelOf(ink, along, page)
  const maxThickness = Math.max(RULING_MAX_THICKNESS, Math.round(RULING_MAX_THICKNESS_SHARE * across))
  const mark = (p: number, q: number) => {
    const i = pixel(p, q)
    return i >= 0 && ink.data[i] >= RULING_MIN_INK
  }
  // the thin marks as (p, q) pairs: most of a page is blank paper
  const votes: number[] = []
  for (let q = 0; q < across; q++) for (let p = 0; p < length; p++) if (mark(p, q) && !mark(p, q - maxThickness - 1) && !mark(p, q + maxThickness + 1)) votes.push(p, q)
  let best = { slope: 0, energy: -1, ...tally(votes, length, across, 0) }
  const steps = Math.round(RULING_MAX_TILT / RULING_TILT_STEP)
  for (let t = 0; t <= 2 * steps; t++) {
    // 0, then -step, +step, -2 step, ...
    const slope = Math.tan((Math.ceil(t / 2) * (t % 2 ? -1 : 1) * RULING_TILT_STEP * Math.PI) / 180)
    const counted = tally(votes, length, across, slope)
    let energy = 0
    for (const h of counted.hits) energy += h * h
    if (energy > best.energy) best = { slope, energy, ...counted }
  }
  // how much of each offset's line is in view, once: the longest is the picture's length, or the sheet's extent
  const { hits, lo } = best
  const seen = hits.map((_, b) => inView(pixel, b + lo, length, best.slope))
  const longest = Math.max(...seen)
  const find = (minSeen: number, coverage: number) =>
    candidateBands(hits, lo, seen, maxThickness + 2, minSeen).filter((band) => covered(ink, pixel, length, best.slope, band, minSeen, coverage))
  // a fragment in a corner is judged more leniently, as a line of a page already known to be ruled
  return { along, slope: best.slope, bands: find(longest / 2, RULING_MIN_COVERAGE), all: find(RULING_MIN_FRAGMENT, RULING_MIN_VOTES) }
}

/** Votes per offset at this slope, from the lowest offset a line at this slope can have (lo) up. */
function tally(votes: number[], length: number, across: number, slope: number): { hits: Int32Array; lo: number } {
  const lo = Math.floor(Math.min(0, -slope * (length - 1))) - 1
  const hits = new Int32Array(across + Math.ceil(Math.abs(slope) * length) + 4)
  for (let m = 0; m < votes.length; m += 2) hits[Math.round(votes[m + 1] - votes[m] * slope) - lo]++
  return { hits, lo }
}

/**
 * Runs of offsets, at most `maxRun` long, where the votes on the offset and its two neighbours
 * number RULING_MIN_VOTES of its length in view (`seen`): a line lying between two offsets still
 * counts whole.
 */
function candidateBands(hits: Int32Array, lo: number, seen: Int32Array, maxRun: number, minSeen: number): number[][] {
  const bands: number[][] = []
  let run: number[] = []
  const close = () => {
    if (run.length > 0 && run.length <= maxRun) bands.push(run)
    run = []
  }
  for (let b = 1; b < hits.length - 1; b++) {
    if (seen[b] >= minSeen && hits[b - 1] + hits[b] + hits[b + 1] >= RULING_MIN_VOTES * seen[b]) run.push(b + lo)
    else close()
  }
  close()
  return bands
}

/** How many positions along the line at `offset` lie in the picture (a tilted line may leave it through an end). */
function inView(pixel: (p: number, q: number) => number, offset: number, length: number, slope: number): number {
  let n = 0
  for (let p = 0; p < length; p++) if (pixel(p, Math.round(offset + p * slope)) >= 0) n++
  return n
}

/**
 * Whether a mark lies on the band at `coverage` of the positions where the picture shows the
 * band's middle: a line cut by the picture's edge is judged on the part of it in view.
 */
function covered(ink: Gray, pixel: (p: number, q: number) => number, length: number, slope: number, band: number[], minSeen: number, coverage: number): boolean {
  const middle = (band[0] + band[band.length - 1]) / 2
  let hit = 0
  let seen = 0
  for (let p = 0; p < length; p++) {
    if (pixel(p, Math.round(middle + p * slope)) < 0) continue
    seen++
    for (const offset of band) {
      const i = pixel(p, Math.round(offset + p * slope))
      if (i >= 0 && ink.data[i] >= RULING_MIN_INK) {
        hit++
        break
      }
    }
  }
  return seen >= minSeen && hit >= coverage * seen
}

/**
 * Clears the band, and the offset beside it on either side (a tilted line wanders between
 * offsets), at every position where no stroke lies just beyond that on either side.
 */
function clear(ink: Gray, lines: Lines, band: number[], page: Uint8Array | undefined): void {
  const length = lines.along === 'rows' ? ink.width : ink.height
  const pixel = pixelOf(ink, lines.along, page)
  const paper = (i: number) => i < 0 || ink.data[i] < RULING_STROKE_INK
  const [first, last] = [band[0] - 1, band[band.length - 1] + 1]
  for (let p = 0; p < length; p++) {
    const at = (offset: number) => pixel(p, Math.round(offset + p * lines.slope))
    if (!paper(at(first - 1)) || !paper(at(last + 1))) continue
    for (let offset = first; offset <= last; offset++) {
      const i = at(offset)
      if (i >= 0) ink.data[i] = 0
    }
  }
}
