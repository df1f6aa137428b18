/**
 * A sheet of paper lying on a darker surface: a phone photo of a digit written on paper often
 * shows the desk around the sheet, and the border (which toInk reads as the paper) is then the
 * desk, so the whole sheet would read as ink. The sheet is found as the largest light region
 * (Otsu's split of the luminance) with its marks filled in, and taken for a sheet only when it
 * looks like one:
 * - with the surface (the dark part) in view along SURFACE_MIN_BORDER of the picture's border, so
 *   a stroke that reaches the edge of a plain page is not a desk; and large (SHEET_MIN_AREA);
 * - a sharp step down to the surface all round (SHEET_MIN_STEP between the ring just inside its
 *   outline, by its median, and the one just outside, by its upper quartile), so paper in shadow
 *   is not a desk;
 * - a quadrilateral (SHEET_MIN_RECTANGULARITY of its smallest enclosing rectangle), so a bold
 *   light stroke on a dark picture, or a light object on a dark backdrop, is not a sheet;
 * - with dark marks on it (between SHEET_MIN_MARKS of its area and the caller's share: a digit
 *   covers less of a sheet than a garment drawn on one): the drawing;
 * - with an edge that is paper: smooth light (the quadratic paper-light.ts fits to the edge)
 *   explains SHEET_MIN_PAPER_EDGE of the pixels just inside its rim, so a light garment on a dark
 *   backdrop (how Fashion-MNIST stores them), as large, square and sharp-edged as a sheet, is not
 *   one: its outline shows the garment's shading.
 * Why: docs/decisions/sheet-on-a-desk.md.
 */
import { median, paperSurface } from './paper-light'

export const SHEET_MIN_AREA = 0.15
export const SURFACE_MIN_BORDER = 0.15
export const SHEET_MIN_STEP = 40
export const SHEET_MIN_RECTANGULARITY = 0.82
export const SHEET_MIN_MARKS = 0.0005
/** the most of the sheet a digit covers; a garment drawn on a sheet can cover most of it */
export const SHEET_MAX_MARKS = 0.3
export const GARMENT_SHEET_MAX_MARKS = 0.6
/** the least share of the sheet's edge that paper lit smoothly explains (within SHEET_EDGE_TOLERANCE grey levels) */
export const SHEET_MIN_PAPER_EDGE = 0.75
export const SHEET_EDGE_TOLERANCE = 12
/** pictures smaller than this on either side are not photos of a sheet */
export const SHEET_MIN_SIDE = 48
/** the rings compared at the outline, and the rim dropped inside it (blur, JPEG ringing), in pixels */
export const SHEET_RIM = 3

export interface Sheet {
  /** 1 where the pixel is on the sheet, off its rim */
  inside: Uint8Array
  /** the pixels just inside the rim: where the paper is read */
  edge: number[]
  /** how far the sheet is turned, radians in (-pi/4, pi/4]: the angle of the smallest rectangle around it (x right, y down) */
  angle: number
  /** the paper's luminance at every pixel, fitted to `edge` (paper-light.ts): what reading the sheet's ink needs */
  paper: Float32Array
}

/**
 * `lum`: luminance per pixel (0-255, no transparency); `maxMarks`: the largest share of the sheet
 * its dark marks may cover. The sheet, or undefined when the picture does not show a light sheet
 * on a darker surface.
 */
export function findSheet(lum: Float32Array, width: number, height: number, maxMarks = SHEET_MAX_MARKS): Sheet | undefined {
  if (width < SHEET_MIN_SIDE || height < SHEET_MIN_SIDE) return undefined
  const n = width * height
  const threshold = otsu(lum)
  const light = new Uint8Array(n)
  for (let i = 0; i < n; i++) light[i] = lum[i] > threshold ? 1 : 0
  // the surface in view: a photo of a plain page (the common case) stops here
  let surface = 0
  for (let x = 0; x < width; x++) surface += 2 - light[x] - light[(height - 1) * width + x]
  for (let y = 1; y < height - 1; y++) surface += 2 - light[y * width] - light[y * width + width - 1]
  if (surface < SURFACE_MIN_BORDER * 2 * (width + height - 2)) return undefined
  const region = largestComponent(light, width, height)
  if (!region) return undefined
  const filled = fillHoles(region, width, height)
  let area = 0
  let marks = 0
  for (let i = 0; i < n; i++) {
    if (filled[i]) area++
    if (filled[i] && !light[i]) marks++
  }
  if (area < SHEET_MIN_AREA * n) return undefined
  if (marks < SHEET_MIN_MARKS * area || marks > maxMarks * area) return undefined

  const inner = erode(filled, width, height, SHEET_RIM)
  const outer = dilate(filled, width, height, SHEET_RIM)
  const insideRing: number[] = []
  const outsideRing: number[] = []
  for (let i = 0; i < n; i++) {
    if (filled[i] && !inner[i] && region[i]) insideRing.push(lum[i])
    else if (outer[i] && !filled[i]) outsideRing.push(lum[i])
  }
  if (insideRing.length === 0 || outsideRing.length === 0) return undefined
  // the surface's upper quartile: marks that hug the outline (a stroke reaching a shaded part of
  // the page) must not pass a smooth fall of light for a step down to a desk
  if (median(insideRing) - upperQuartile(outsideRing) < SHEET_MIN_STEP) return undefined
  const rectangle = enclosingRectangle(filled, width, height)
  if (area < SHEET_MIN_RECTANGULARITY * rectangle.area) return undefined

  const edge: number[] = []
  const rim = erode(inner, width, height, 1)
  for (let i = 0; i < n; i++) if (inner[i] && !rim[i]) edge.push(i)
  if (edge.length === 0) return undefined
  // the edge is paper: smooth light explains it, where a light object's outline shows its shading
  const paper = paperSurface(lum, width, height, edge)
  let plain = 0
  for (const i of edge) if (Math.abs(lum[i] - paper[i]) <= SHEET_EDGE_TOLERANCE) plain++
  if (plain < SHEET_MIN_PAPER_EDGE * edge.length) return undefined
  return { inside: inner, edge, angle: rectangle.angle, paper }
}

/** The value at index floor(3n / 4) once sorted. */
const upperQuartile = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((3 * values.length) / 4)]

/** Otsu's threshold on 256 bins: the level that best splits the picture into two classes. */
function otsu(lum: Float32Array): number {
  const hist = new Float64Array(256)
  for (const l of lum) hist[Math.max(0, Math.min(255, Math.round(l)))]++
  let total = 0
  let sum = 0
  for (let k = 0; k < 256; k++) (total += hist[k], (sum += k * hist[k]))
  let below = 0
  let sumBelow = 0
  let best = 0
  let at = 127
  for (let k = 0; k < 255; k++) {
    below += hist[k]
    sumBelow += k * hist[k]
    const above = total - below
    if (below === 0 || above === 0) continue
    const between = below * above * (sumBelow / below - (sum - sumBelow) / above) ** 2
    if (between > best) [best, at] = [between, k]
  }
  return at
}

/** The largest 4-connected region of set pixels, or undefined when none is set. */
function largestComponent(set: Uint8Array, width: number, height: number): Uint8Array | undefined {
  const label = new Int32Array(set.length)
  const stack = new Int32Array(set.length)
  let best = 0
  let bestSize = 0
  let next = 0
  for (let start = 0; start < set.length; start++) {
    if (!set[start] || label[start]) continue
    label[start] = ++next
    const size = flood(stack, start, width, height, (j) => {
      if (!set[j] || label[j]) return false
      label[j] = next
      return true
    })
    if (size > bestSize) [best, bestSize] = [next, size]
  }
  if (!best) return undefined
  const out = new Uint8Array(set.length)
  for (let i = 0; i < set.length; i++) out[i] = label[i] === best ? 1 : 0
  return out
}

/** The region with every hole filled: the pixels not reachable from the picture's edge around it. */
function fillHoles(region: Uint8Array, width: number, height: number): Uint8Array {
  const outside = new Uint8Array(region.length)
  const stack = new Int32Array(region.length)
  const take = (j: number) => {
    if (region[j] || outside[j]) return false
    outside[j] = 1
    return true
  }
  const edge = (i: number) => take(i) && flood(stack, i, width, height, take)
  for (let x = 0; x < width; x++) (edge(x), edge((height - 1) * width + x))
  for (let y = 0; y < height; y++) (edge(y * width), edge(y * width + width - 1))
  return outside.map((o) => 1 - o)
}

/** Visits the 4-connected pixels from `start` (already taken) that `take` accepts; how many. */
function flood(stack: Int32Array, start: number, width: number, height: number, take: (j: number) => boolean): number {
  let top = 0
  let size = 0
  stack[top++] = start
  while (top) {
    const i = stack[--top]
    size++
    const x = i % width
    if (x > 0 && take(i - 1)) stack[top++] = i - 1
    if (x < width - 1 && take(i + 1)) stack[top++] = i + 1
    if (i >= width && take(i - width)) stack[top++] = i - width
    if (i < (height - 1) * width && take(i + width)) stack[top++] = i + width
  }
  return size
}

/** Pixels set whose square neighbourhood of radius r lies wholly in the set (the picture's edge counts as in). */
function erode(set: Uint8Array, width: number, height: number, r: number): Uint8Array {
  return square(set, width, height, r, 0)
}

function dilate(set: Uint8Array, width: number, height: number, r: number): Uint8Array {
  return square(set, width, height, r, 1)
}

/**
 * Erosion (seek 0) or dilation (seek 1) by a (2r+1)-square, separably: rows, then columns, each
 * a running count of the sought value over the window.
 */
function square(set: Uint8Array, width: number, height: number, r: number, seek: 0 | 1): Uint8Array {
  const pass = (src: Uint8Array, lines: number, length: number, step: number, stride: number) => {
    const out = new Uint8Array(src.length)
    for (let line = 0; line < lines; line++) {
      const base = line * stride
      let count = 0
      for (let k = 0; k < Math.min(r, length); k++) if (src[base + k * step] === seek) count++
      for (let k = 0; k < length; k++) {
        if (k + r < length && src[base + (k + r) * step] === seek) count++
        if (k - r - 1 >= 0 && src[base + (k - r - 1) * step] === seek) count--
        out[base + k * step] = count > 0 ? seek : 1 - seek
      }
    }
    return out
  }
  return pass(pass(set, height, width, 1, width), width, height, width, 1)
}

/** The area of the smallest rectangle, at any angle, around the set pixels (their convex hull's). */
/** The smallest rectangle aligned with an edge of the convex hull of the set's pixel squares: its area and that edge's angle, turned into (-pi/4, pi/4]. */
function enclosingRectangle(set: Uint8Array, width: number, height: number): { area: number; angle: number } {
  const points: [number, number][] = []
  for (let y = 0; y < height; y++) {
    let first = -1
    let last = -1
    for (let x = 0; x < width; x++) if (set[y * width + x]) (first < 0 && (first = x), (last = x))
    if (first >= 0) points.push([first, y], [first, y + 1], [last + 1, y], [last + 1, y + 1])
  }
  const hull = convexHull(points)
  let best = Infinity
  let angle = 0
  for (let k = 0; k < hull.length; k++) {
    const [ax, ay] = hull[k]
    const [bx, by] = hull[(k + 1) % hull.length]
    const len = Math.hypot(bx - ax, by - ay)
    if (len === 0) continue
    const [ux, uy] = [(bx - ax) / len, (by - ay) / len]
    let [lo, hi, nlo, nhi] = [Infinity, -Infinity, Infinity, -Infinity]
    for (const [px, py] of hull) {
      const along = px * ux + py * uy
      const across = -px * uy + py * ux
      ;[lo, hi, nlo, nhi] = [Math.min(lo, along), Math.max(hi, along), Math.min(nlo, across), Math.max(nhi, across)]
    }
    const area = (hi - lo) * (nhi - nlo)
    if (area < best) [best, angle] = [area, Math.atan2(uy, ux)]
  }
  // a rectangle's sides run every quarter turn: the turn nearest upright
  const quarter = Math.PI / 2
  angle -= quarter * Math.round(angle / quarter)
  if (angle <= -quarter / 2) angle += quarter
  return { area: best, angle }
}

/** Andrew's monotone chain, counter-clockwise. */
function convexHull(points: [number, number][]): [number, number][] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1])
  if (p.length < 3) return p
  const cross = (o: number[], a: number[], b: number[]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
  const half = (pts: [number, number][]) => {
    const out: [number, number][] = []
    for (const q of pts) {
      while (out.length >= 2 && cross(out[out.length - 2], out[out.length - 1], q) <= 0) out.pop()
      out.push(q)
    }
    out.pop()
    return out
  }
  return [...half(p), ...half([...p].reverse())]
}
