/**
 * Resampling 8-bit images of any channel count: area averaging when
 * shrinking (each output pixel is the mean of its exact footprint, partly
 * covered source pixels weighted by the part covered, so thin strokes do not
 * vanish and fine patterns do not alias), bilinear when enlarging. Values are
 * averaged as stored (sRGB for photos): CIFAR-10 and the MNIST family were
 * downscaled that way, so this reproduces their statistics better than
 * linear-light averaging, which would brighten fine dark detail.
 */
import type { Gray } from './ink'

/** `channels` values per pixel, pixel (y, x) channel c at (y * width + x) * channels + c (HWC). */
export interface Raster {
  width: number
  height: number
  channels: number
  data: Uint8Array
}

export function resize(src: Gray, width: number, height: number): Gray {
  return { width, height, data: resample({ ...src, channels: 1 }, width, height).data }
}

export function resample(src: Raster, width: number, height: number): Raster {
  if (width >= src.width && height >= src.height) return bilinear(src, width, height)
  return areaAverage(src, width, height)
}

export function areaAverage(src: Raster, width: number, height: number): Raster {
  const { channels: C } = src
  const out = new Uint8Array(width * height * C)
  const sums = new Float64Array(C)
  const sx = src.width / width
  const sy = src.height / height
  for (let y = 0; y < height; y++) {
    const y0 = y * sy
    const y1 = y0 + sy
    for (let x = 0; x < width; x++) {
      const x0 = x * sx
      const x1 = x0 + sx
      sums.fill(0)
      let weight = 0
      for (let yy = Math.floor(y0); yy < Math.min(src.height, Math.ceil(y1)); yy++) {
        const wy = Math.min(yy + 1, y1) - Math.max(yy, y0)
        for (let xx = Math.floor(x0); xx < Math.min(src.width, Math.ceil(x1)); xx++) {
          const w = wy * (Math.min(xx + 1, x1) - Math.max(xx, x0))
          const at = (yy * src.width + xx) * C
          for (let c = 0; c < C; c++) sums[c] += src.data[at + c] * w
          weight += w
        }
      }
      for (let c = 0; c < C; c++) out[(y * width + x) * C + c] = weight > 0 ? Math.round(sums[c] / weight) : 0
    }
  }
  return { width, height, channels: C, data: out }
}

/** A Raster of values of any precision: what bilinear reads (rounding and clamping to 0..255 on output). */
export interface Samples {
  width: number
  height: number
  channels: number
  data: ArrayLike<number>
}

/** Samples at pixel centres ((x + 0.5) * scale - 0.5), the image's edge pixels repeated beyond it. */
export function bilinear(src: Samples, width: number, height: number): Raster {
  const { channels: C } = src
  const out = new Uint8Array(width * height * C)
  const at = (x: number, y: number, c: number) =>
    src.data[(Math.min(src.height - 1, Math.max(0, y)) * src.width + Math.min(src.width - 1, Math.max(0, x))) * C + c]
  for (let y = 0; y < height; y++) {
    const fy = ((y + 0.5) * src.height) / height - 0.5
    const y0 = Math.floor(fy)
    const dy = fy - y0
    for (let x = 0; x < width; x++) {
      const fx = ((x + 0.5) * src.width) / width - 0.5
      const x0 = Math.floor(fx)
      const dx = fx - x0
      for (let c = 0; c < C; c++) {
        const top = at(x0, y0, c) * (1 - dx) + at(x0 + 1, y0, c) * dx
        const bottom = at(x0, y0 + 1, c) * (1 - dx) + at(x0 + 1, y0 + 1, c) * dx
        out[(y * width + x) * C + c] = Math.min(255, Math.max(0, Math.round(top * (1 - dy) + bottom * dy)))
      }
    }
  }
  return { width, height, channels: C, data: out }
}
