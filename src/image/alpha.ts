/**
 * Transparency for pictures of things (photos, garments): a transparent area
 * shows the paper, and the paper is white, as on a product page. (Digits do
 * not come here: on a transparent sheet their opacity is the ink, see ink.ts.)
 */
import type { Rgba } from './ink'
import type { Raster } from './resize'

/** The picture composited over white: every pixel opaque, colour c at opacity a -> c·a + 255·(1 - a). */
export function overWhite(img: Rgba): Rgba {
  const { width, height, data } = img
  const out = new Uint8ClampedArray(width * height * 4)
  for (let i = 0; i < width * height; i++) {
    const a = data[i * 4 + 3] / 255
    for (let c = 0; c < 3; c++) out[i * 4 + c] = Math.round(255 - (255 - data[i * 4 + c]) * a)
    out[i * 4 + 3] = 255
  }
  return { width, height, data: out }
}

/** RGB of an RGBA image (alpha dropped: composite first). */
export function rgbOf(img: Rgba): Raster {
  const n = img.width * img.height
  const out = new Uint8Array(n * 3)
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = img.data[i * 4 + c]
  return { width: img.width, height: img.height, channels: 3, data: out }
}

export function isFullyTransparent(img: Rgba): boolean {
  for (let i = 3; i < img.data.length; i += 4) if (img.data[i] !== 0) return false
  return true
}
