/**
 * Official test images rendered as people hand them over, for tests that
 * upload or film them: a CIFAR-10 photo enlarged and saved as PNG or JPEG,
 * possibly wider than tall; a Fashion-MNIST garment as a product shot, dark
 * on white, enlarged and off-centre on a larger white sheet; and a YUV4MPEG2
 * clip of any RGB picture for Chromium's --use-file-for-fake-video-capture.
 * WebP is left to the browser (canvas.toBlob) in the tests that need it.
 */
import jpeg from 'jpeg-js'
import type { Rgba } from '../../src/image/ink'
import { bilinear, type Raster } from '../../src/image/resize'
import { png } from './digits'

export type Format = 'png' | 'jpeg'

export interface PhotoOptions {
  /** the picture's side in the file, px (enlarged from 32 by `enlarge`) */
  side: number
  format: Format
  /** a wider file: the picture centred with its edges mirrored out to this width (the model's input is still the centre square) */
  width?: number
  /** JPEG quality, 1-100 (default 90) */
  quality?: number
}

export interface GarmentOptions {
  /** the garment's 28x28 frame enlarged to side x side px */
  side: number
  format: Format
  /** the white sheet around it, and where the enlarged frame's top-left corner sits on it (default: 1.5 x 1.25 sides, off-centre) */
  sheet?: { width: number; height: number; x: number; y: number }
  quality?: number
}

const JPEG_QUALITY = 90

/**
 * The smooth high-resolution picture an official image could have been
 * shrunk from: bilinear (the page's own, so there is one) over a copy
 * prefiltered so that averaging each source pixel's footprint of the result,
 * which is what the page does when it shrinks, gives that pixel back (exactly
 * at even integer factors, nearly at others). Plain bilinear would not: its
 * footprint average is 1/8, 3/4, 1/8 of a pixel and its neighbours along each
 * axis, a blur that alone changes about one CIFAR-10 prediction in five.
 */
export function enlarge(src: Raster, width: number, height: number): Raster {
  const v = Float64Array.from(src.data)
  const C = src.channels
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < src.height; y++) unblurLine(v, y * src.width * C + c, src.width, C)
    for (let x = 0; x < src.width; x++) unblurLine(v, x * C + c, src.height, src.width * C)
  }
  return bilinear({ ...src, data: v }, width, height)
}

/**
 * Solves, in place along one line of n values `stride` apart, the system
 * "footprint average of the bilinear result = the value": 1/8 beside the
 * diagonal, 3/4 on it (7/8 at the ends, where bilinear repeats the edge).
 * Tridiagonal and diagonally dominant, so one forward and one back sweep.
 */
function unblurLine(v: Float64Array, start: number, n: number, stride: number): void {
  const side = 1 / 8
  const sup = new Float64Array(n)
  const rhs = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const diag = n === 1 ? 1 : i === 0 || i === n - 1 ? 7 / 8 : 3 / 4
    const m = diag - (i > 0 ? side * sup[i - 1] : 0)
    sup[i] = side / m
    rhs[i] = (v[start + i * stride] - (i > 0 ? side * rhs[i - 1] : 0)) / m
  }
  for (let i = n - 1; i >= 0; i--) v[start + i * stride] = rhs[i] - (i < n - 1 ? sup[i] * v[start + (i + 1) * stride] : 0)
}

export function encode(img: Rgba, format: Format, quality = JPEG_QUALITY): Buffer {
  const data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength)
  return format === 'png' ? png(img.width, img.height, data) : Buffer.from(jpeg.encode({ data, width: img.width, height: img.height }, quality).data)
}

/** The pixels cifarPhoto saves: opaque RGBA. */
export function cifarPhotoPixels(rgb32: Uint8Array, { side, width = side }: Pick<PhotoOptions, 'side' | 'width'>): Rgba {
  if (width < side) throw new RangeError(`width ${width} is below the side ${side}`)
  const big = enlarge({ width: 32, height: 32, channels: 3, data: rgb32 }, side, side)
  const left = Math.floor((width - side) / 2)
  const data = new Uint8ClampedArray(width * side * 4)
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < width; x++) {
      // mirrored beyond the picture's edges, so the surroundings continue it as a wider shot would
      const m = x - left
      const sx = m < 0 ? Math.min(side - 1, -m - 1) : m >= side ? Math.max(0, 2 * side - m - 1) : m
      const at = (y * side + sx) * 3
      data.set([big.data[at], big.data[at + 1], big.data[at + 2], 255], (y * width + x) * 4)
    }
  }
  return { width, height: side, data }
}

export function cifarPhoto(rgb32: Uint8Array, options: PhotoOptions): Buffer {
  return encode(cifarPhotoPixels(rgb32, options), options.format, options.quality)
}

/** The pixels garmentOnWhite saves: opaque RGBA, the garment 255 - its Fashion-MNIST value. */
export function garmentOnWhitePixels(gray28: Uint8Array, { side, sheet }: Pick<GarmentOptions, 'side' | 'sheet'>): Rgba {
  const s = sheet ?? { width: Math.round(side * 1.5), height: Math.round(side * 1.25), x: Math.round(side * 0.35), y: Math.round(side * 0.08) }
  if (s.x < 0 || s.y < 0 || s.x + side > s.width || s.y + side > s.height) throw new RangeError('the garment must lie on the sheet')
  const big = enlarge({ width: 28, height: 28, channels: 1, data: gray28 }, side, side)
  const data = new Uint8ClampedArray(s.width * s.height * 4).fill(255)
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const v = 255 - big.data[y * side + x]
      data.set([v, v, v], ((s.y + y) * s.width + s.x + x) * 4)
    }
  }
  return { width: s.width, height: s.height, data }
}

export function garmentOnWhite(gray28: Uint8Array, options: GarmentOptions): Buffer {
  return encode(garmentOnWhitePixels(gray28, options), options.format, options.quality)
}

/**
 * A YUV4MPEG2 clip (4:2:0, C420jpeg: chroma centred between its four luma
 * samples, each chroma sample their mean) of `frames` copies of one RGB
 * picture. BT.601 studio range (Y 16-235), the matrix Chromium's I420 path
 * (libyuv) assumes for a fake capture file. Chromium reads 4:2:0 planes of
 * width/2 x height/2, so both sides must be even.
 */
export function y4mFromRgb(width: number, height: number, rgb: Uint8Array, frames = 1): Buffer {
  if (width % 2 || height % 2) throw new RangeError(`Y4M 4:2:0 needs even sides, not ${width}x${height}`)
  if (rgb.length !== width * height * 3) throw new RangeError(`${rgb.length} bytes for ${width}x${height} RGB`)
  const cw = width / 2
  const y = Buffer.alloc(width * height)
  const u = Buffer.alloc(cw * (height / 2))
  const v = Buffer.alloc(cw * (height / 2))
  for (let i = 0; i < width * height; i++) y[i] = Math.round(16 + (65.481 * rgb[i * 3] + 128.553 * rgb[i * 3 + 1] + 24.966 * rgb[i * 3 + 2]) / 255)
  for (let cy = 0; cy < height / 2; cy++) {
    for (let cx = 0; cx < cw; cx++) {
      const mean = [0, 0, 0]
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) for (let c = 0; c < 3; c++) mean[c] += rgb[((2 * cy + dy) * width + 2 * cx + dx) * 3 + c] / 4
      const [r, g, b] = mean
      u[cy * cw + cx] = Math.round(128 + (-37.797 * r - 74.203 * g + 112 * b) / 255)
      v[cy * cw + cx] = Math.round(128 + (112 * r - 93.786 * g - 18.214 * b) / 255)
    }
  }
  const frame = Buffer.concat([Buffer.from('FRAME\n', 'latin1'), y, u, v])
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\n`, 'latin1')
  return Buffer.concat([header, ...Array.from({ length: frames }, () => frame)])
}
