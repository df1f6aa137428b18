/**
 * RGBA -> "ink" (0 = background, 255 = strongest ink), whatever the paper.
 * MNIST is white ink on black; people mostly supply dark ink on light paper,
 * sometimes on tinted paper or on a transparent background. The border
 * decides: a mostly transparent border means the opaque pixels are the ink;
 * otherwise the border's typical luminance says light or dark paper, the
 * border's lighting read as a smooth surface (paper-light.ts) is the paper
 * at each pixel, and ink is the distance from it, stretched so the
 * strongest stroke reaches 255. With `sheetMaxMarks`, a light sheet lying on a
 * darker surface (sheet.ts) is the paper: the surface around it counts as
 * paper, and the paper is read along the sheet's own edge.
 */
import { median, paperSurface } from './paper-light'
import { findSheet } from './sheet'

export interface Rgba {
  width: number
  height: number
  data: Uint8ClampedArray | Uint8Array
}

export interface Gray {
  width: number
  height: number
  data: Uint8Array
}

/** below this contrast (0-255) with the paper an image counts as blank */
export const MIN_CONTRAST = 40

export function luminance(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b
}

function borderIndices(width: number, height: number): number[] {
  const out: number[] = []
  for (let x = 0; x < width; x++) out.push(x, (height - 1) * width + x)
  for (let y = 1; y < height - 1; y++) out.push(y * width, y * width + width - 1)
  return out
}

export interface InkResult extends Gray {
  /** how the background was read, for the UI */
  background: 'transparent' | 'light' | 'dark'
  /** strongest contrast with the paper before stretching, 0-255 */
  contrast: number
  /** where a sheet lying on a surface was found: 1 on the sheet (sheet.ts) */
  sheet?: Uint8Array
  /** how far that sheet is turned, radians (sheet.ts) */
  sheetAngle?: number
}

/** `sheetMaxMarks`: look for a sheet lying on a surface whose dark marks cover at most this share of it (sheet.ts) */
export function toInk(img: Rgba, options: { sheetMaxMarks?: number } = {}): InkResult {
  const { width, height, data } = img
  const n = width * height
  let border = borderIndices(width, height)
  const transparentBorder = border.filter((i) => data[i * 4 + 3] < 128).length
  const out = new Uint8Array(n)

  if (transparentBorder > border.length / 2) {
    // ink = opacity; colour does not matter on a transparent sheet
    let max = 0
    for (let i = 0; i < n; i++) max = Math.max(max, data[i * 4 + 3])
    for (let i = 0; i < n; i++) out[i] = max > 0 ? Math.round((data[i * 4 + 3] * 255) / max) : 0
    return { width, height, data: out, background: 'transparent', contrast: max }
  }

  const lum = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    // a mostly transparent pixel shows the paper: mark it (-1) and treat it as paper below
    lum[i] = data[i * 4 + 3] < 128 ? -1 : luminance(data[i * 4], data[i * 4 + 1], data[i * 4 + 2])
  }
  const sheet = options.sheetMaxMarks !== undefined && lum.every((l) => l >= 0) ? findSheet(lum, width, height, options.sheetMaxMarks) : undefined
  if (sheet) {
    // off the sheet is not paper to read nor ink to find: it counts as paper, like a transparent pixel
    for (let i = 0; i < n; i++) if (!sheet.inside[i]) lum[i] = -1
    border = sheet.edge
  }
  const paperSamples = border.map((i) => lum[i]).filter((v) => v >= 0)
  const typical = median(paperSamples.length ? paperSamples : [0])
  // a sheet is the light part of the picture, its marks the dark ones, however dim the photo
  const light = sheet !== undefined || typical >= 128
  // the paper where each pixel is, not one value for the sheet: photos of paper are lit unevenly
  // on a sheet, the surface findSheet fitted to its edge (the edge pixels are on the sheet: the same samples)
  const paper = sheet?.paper ?? paperSurface(lum, width, height, border)
  let contrast = 0
  const diff = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    const l = lum[i] < 0 ? paper[i] : lum[i]
    // light falls on ink and paper alike: in a shadow the same ink is a smaller step below the
    // paper, so on light paper the step is taken relative to the paper there (as at typical paper)
    const d = light ? ((paper[i] - l) * typical) / Math.max(1, paper[i]) : l - paper[i]
    diff[i] = d > 0 ? d : 0
    if (diff[i] > contrast) contrast = diff[i]
  }
  const k = contrast > 0 ? 255 / contrast : 0
  for (let i = 0; i < n; i++) out[i] = Math.min(255, Math.round(diff[i] * k))
  return { width, height, data: out, background: light ? 'light' : 'dark', contrast: Math.round(contrast), ...(sheet ? { sheet: sheet.inside, sheetAngle: sheet.angle } : {}) }
}
