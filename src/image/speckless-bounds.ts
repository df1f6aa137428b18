/**
 * The bounding box of an object's ink without the specks around it. A photo's paper carries
 * sensor and JPEG noise, and a trim as close to the background as Fashion-MNIST's (5% of full
 * intensity) catches single noisy pixels far from the garment: each one widens the box, and the
 * garment is then framed too small. A speck is an 8-connected group of marked pixels smaller than
 * a quarter of what one model pixel covers when the picture is scaled to the frame: too small to
 * survive the scaling as anything but a faint dot, while the thinnest part of a garment (a strap,
 * a lace) is at least a model pixel wide and runs along several. At the frame's own size the
 * bound is one pixel and nothing is left out.
 */
import type { Gray } from './ink'
import type { Box } from './mnist-frame'

/** Specks are groups of fewer pixels than this, for a picture whose longest side is `longest`, scaled to `fit`. */
export function speckPixels(longest: number, fit: number): number {
  return Math.max(1, Math.floor((longest * longest) / (4 * fit * fit)))
}

/** The box around the pixels >= `threshold` that belong to groups of at least `minPixels`; null when there are none. */
export function specklessBounds(img: Gray, threshold: number, minPixels: number): Box | null {
  const { width, height, data } = img
  const seen = new Uint8Array(width * height)
  const stack = new Int32Array(width * height)
  let [minX, minY, maxX, maxY] = [width, height, -1, -1]
  for (let start = 0; start < data.length; start++) {
    if (seen[start] || data[start] < threshold) continue
    seen[start] = 1
    stack[0] = start
    let [top, count] = [1, 0]
    let [x0, y0, x1, y1] = [width, height, -1, -1]
    while (top > 0) {
      const i = stack[--top]
      const [x, y] = [i % width, Math.floor(i / width)]
      count++
      ;[x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)]
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const [nx, ny] = [x + dx, y + dy]
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue
          const j = ny * width + nx
          if (seen[j] || data[j] < threshold) continue
          seen[j] = 1
          stack[top++] = j
        }
      }
    }
    if (count < minPixels) continue
    ;[minX, minY, maxX, maxY] = [Math.min(minX, x0), Math.min(minY, y0), Math.max(maxX, x1), Math.max(maxY, y1)]
  }
  return maxX < 0 ? null : { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 }
}
