/**
 * Fashion-MNIST's sharpening step ("a Gaussian operator of the radius and
 * standard deviation of 1.0"): ImageMagick's `-sharpen 1x1`, a 3x3 kernel of
 * negated Gaussian weights whose centre is set to minus twice their sum, the
 * whole normalised to sum 1 (so flat areas keep their value), edge pixels
 * repeated beyond the image. Because the kernel sums to 1 it commutes with
 * the negation that turns a dark garment into bright ink, so it is applied
 * to the ink.
 */
import type { Gray } from './ink'

const SIGMA = 1

function kernel(): number[] {
  const k: number[] = []
  for (let v = -1; v <= 1; v++) for (let u = -1; u <= 1; u++) k.push(-Math.exp(-(u * u + v * v) / (2 * SIGMA * SIGMA)) / (2 * Math.PI * SIGMA * SIGMA))
  k[4] = -2 * k.reduce((a, b) => a + b, 0)
  const sum = k.reduce((a, b) => a + b, 0)
  return k.map((w) => w / sum)
}

export const SHARPEN_KERNEL: readonly number[] = kernel()

export function sharpen(img: Gray): Gray {
  const { width, height, data } = img
  const out = new Uint8Array(width * height)
  const at = (x: number, y: number) => data[Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))]
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0
      for (let v = -1; v <= 1; v++) for (let u = -1; u <= 1; u++) s += SHARPEN_KERNEL[(v + 1) * 3 + u + 1] * at(x + u, y + v)
      out[y * width + x] = Math.min(255, Math.max(0, Math.round(s)))
    }
  }
  return { width, height, data: out }
}
