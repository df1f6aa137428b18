/**
 * Resampling for grayscale images: area averaging when shrinking (what keeps
 * thin strokes from vanishing), bilinear when enlarging.
 */
import type { Gray } from './ink'

export function resize(src: Gray, width: number, height: number): Gray {
  if (width >= src.width && height >= src.height) return bilinear(src, width, height)
  return area(src, width, height)
}

function area(src: Gray, width: number, height: number): Gray {
  const out = new Uint8Array(width * height)
  const sx = src.width / width
  const sy = src.height / height
  for (let y = 0; y < height; y++) {
    const y0 = y * sy
    const y1 = y0 + sy
    for (let x = 0; x < width; x++) {
      const x0 = x * sx
      const x1 = x0 + sx
      let sum = 0
      let weight = 0
      for (let yy = Math.floor(y0); yy < Math.min(src.height, Math.ceil(y1)); yy++) {
        const wy = Math.min(yy + 1, y1) - Math.max(yy, y0)
        for (let xx = Math.floor(x0); xx < Math.min(src.width, Math.ceil(x1)); xx++) {
          const w = wy * (Math.min(xx + 1, x1) - Math.max(xx, x0))
          sum += src.data[yy * src.width + xx] * w
          weight += w
        }
      }
      out[y * width + x] = weight > 0 ? Math.round(sum / weight) : 0
    }
  }
  return { width, height, data: out }
}

function bilinear(src: Gray, width: number, height: number): Gray {
  const out = new Uint8Array(width * height)
  const at = (x: number, y: number) => src.data[Math.min(src.height - 1, Math.max(0, y)) * src.width + Math.min(src.width - 1, Math.max(0, x))]
  for (let y = 0; y < height; y++) {
    const fy = ((y + 0.5) * src.height) / height - 0.5
    const y0 = Math.floor(fy)
    const dy = fy - y0
    for (let x = 0; x < width; x++) {
      const fx = ((x + 0.5) * src.width) / width - 0.5
      const x0 = Math.floor(fx)
      const dx = fx - x0
      const top = at(x0, y0) * (1 - dx) + at(x0 + 1, y0) * dx
      const bottom = at(x0, y0 + 1) * (1 - dx) + at(x0 + 1, y0 + 1) * dx
      out[y * width + x] = Math.round(top * (1 - dy) + bottom * dy)
    }
  }
  return { width, height, data: out }
}
