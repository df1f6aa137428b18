/**
 * Photo -> a photo model's input (CIFAR-10: 32x32 RGB). Transparent areas
 * over white; the largest centred crop of the model's aspect (CIFAR-10
 * images are whole objects framed by whoever took them, and the model never
 * saw letterbox bars, so cropping the edges loses less than padding adds);
 * then area-averaged down, or bilinear up for a picture smaller than the
 * input. Orientation (EXIF) is applied by the decoder, workers/image/decode.ts.
 */
import { overWhite, rgbOf } from './alpha'
import { luminance, type Rgba } from './ink'
import { resample, type Raster } from './resize'

/** The largest region of `src` with width/height = aspect, centred (an odd leftover pixel goes right/bottom). */
export function centreCrop(src: Raster, aspect: number): Raster {
  const width = Math.max(1, Math.min(src.width, Math.round(src.height * aspect)))
  const height = Math.max(1, Math.min(src.height, Math.round(src.width / aspect)))
  const x0 = Math.floor((src.width - width) / 2)
  const y0 = Math.floor((src.height - height) / 2)
  const C = src.channels
  const out = new Uint8Array(width * height * C)
  for (let y = 0; y < height; y++) out.set(src.data.subarray(((y0 + y) * src.width + x0) * C, ((y0 + y) * src.width + x0 + width) * C), y * width * C)
  return { width, height, channels: C, data: out }
}

/** height*width*channels bytes, HWC; one channel is the luminance. */
export function toPhotoFrame(img: Rgba, width: number, height: number, channels: number): Uint8Array {
  const small = resample(centreCrop(rgbOf(overWhite(img)), width / height), width, height)
  if (channels === 3) return small.data
  const grey = new Uint8Array(width * height)
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round(luminance(small.data[i * 3], small.data[i * 3 + 1], small.data[i * 3 + 2]))
  return grey
}
