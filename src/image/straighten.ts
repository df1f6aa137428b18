/**
 * A sheet found turned on a desk (sheet.ts) turns what is drawn on it by the same angle: a phone
 * held askew turns both. The ink is turned back about the sheet's centre before it is framed, so
 * the drawing reaches the model upright, as the data sets hold their images. A sheet turned by
 * less than STRAIGHTEN_MIN_DEGREES is left as it is: resampling blurs strokes a little, which an
 * upright sheet should not pay for.
 */
import type { Gray } from './ink'

export const STRAIGHTEN_MIN_DEGREES = 1

/**
 * `ink` turned by -`angle` (radians, x right, y down) about the centroid of `sheet` (1 on the
 * sheet): each pixel samples the ink bilinearly where the turn puts it; outside the picture is
 * no ink. Below STRAIGHTEN_MIN_DEGREES the ink itself is returned.
 */
export function straighten(ink: Gray, sheet: Uint8Array, angle: number): Gray {
  if (Math.abs(angle) < (STRAIGHTEN_MIN_DEGREES * Math.PI) / 180) return ink
  const { width, height, data } = ink
  let [sx, sy, count] = [0, 0, 0]
  for (let i = 0; i < sheet.length; i++) {
    if (!sheet[i]) continue
    sx += (i % width) + 0.5
    sy += Math.floor(i / width) + 0.5
    count++
  }
  if (count === 0) return ink
  const [cx, cy] = [sx / count, sy / count]
  const [cos, sin] = [Math.cos(angle), Math.sin(angle)]
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= width || y >= height ? 0 : data[y * width + x])
  const out = new Uint8Array(width * height)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [dx, dy] = [x + 0.5 - cx, y + 0.5 - cy]
      // the source point, in pixel-centre coordinates
      const u = cx + dx * cos - dy * sin - 0.5
      const v = cy + dx * sin + dy * cos - 0.5
      const [x0, y0] = [Math.floor(u), Math.floor(v)]
      const [fx, fy] = [u - x0, v - y0]
      const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
      const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
      out[y * width + x] = Math.round(top * (1 - fy) + bottom * fy)
    }
  }
  return { width, height, data: out }
}
