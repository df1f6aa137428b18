/**
 * Photo -> a photo model's input (CIFAR-10: 32x32 RGB). Transparent areas
 * over white; plain margins (bars, a plain backdrop, a transparent surround)
 * peeled off, since CIFAR-10 pictures are framed around their object and the
 * model never saw bars; then the crop of the model's aspect around what is
 * left, never larger than the largest centred crop, which a picture without
 * plain margins keeps (cutting its edges loses less than padding adds); then
 * area-averaged down, or bilinear up for a picture smaller than the input;
 * then, only for a picture whose tonal range ends outside the training
 * pictures' (underexposed, washed out), a levels correction (./exposure.ts).
 * Orientation (EXIF) is applied by the decoder, workers/image/decode.ts.
 */
import { overWhite, rgbOf } from './alpha'
import { correctExposure } from './exposure'
import { luminance, type Rgba } from './ink'
import { unplainBox } from './plain-margins'
import { resample, type Raster } from './resize'

/** The smallest crop, as a fraction of the largest centred crop, so that a speck is not blown up. */
export const MIN_CROP = 0.25

/** The largest region of `src` with width/height = aspect, centred (an odd leftover pixel goes right/bottom). */
export function centreCrop(src: Raster, aspect: number): Raster {
  const width = Math.max(1, Math.min(src.width, Math.round(src.height * aspect)))
  const height = Math.max(1, Math.min(src.height, Math.round(src.width / aspect)))
  return crop(src, Math.floor((src.width - width) / 2), Math.floor((src.height - height) / 2), width, height)
}

/**
 * The region of aspect width/height to show the model: the box of `src` inside its plain
 * margins, no wider (a band of backdrop round a picture is a frame the model never saw), widened
 * to the aspect, at least MIN_CROP of the largest centred crop and at least
 * `minHeight` rows (the model's own: a crop is never enlarged, as that adds no detail), at most
 * the largest centred crop; centred on the box and moved inside the picture. The largest centred
 * crop itself when it is no larger.
 */
export function objectCrop(src: Raster, aspect: number, minHeight: number): Raster {
  const full = centreCrop(src, aspect)
  const box = unplainBox(src)
  const w = box.x1 - box.x0
  const h = box.y1 - box.y0
  // plain all through (a line is all that is left): nothing stands out to frame
  if (w <= 1 || h <= 1) return full
  const height = Math.min(full.height, Math.max(MIN_CROP * full.height, minHeight, h, w / aspect))
  if (height >= full.height) return full
  const cw = Math.max(1, Math.round(height * aspect))
  const ch = Math.max(1, Math.round(height))
  const x0 = clamp(Math.round((box.x0 + box.x1 - cw) / 2), 0, src.width - cw)
  const y0 = clamp(Math.round((box.y0 + box.y1 - ch) / 2), 0, src.height - ch)
  return crop(src, x0, y0, cw, ch)
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))

/** The width x height region of `src` whose top-left pixel is (x0, y0). */
function crop(src: Raster, x0: number, y0: number, width: number, height: number): Raster {
  const C = src.channels
  const out = new Uint8Array(width * height * C)
  for (let y = 0; y < height; y++) out.set(src.data.subarray(((y0 + y) * src.width + x0) * C, ((y0 + y) * src.width + x0 + width) * C), y * width * C)
  return { width, height, channels: C, data: out }
}

/** height*width*channels bytes, HWC; one channel is the luminance. */
export function toPhotoFrame(img: Rgba, width: number, height: number, channels: number): Uint8Array {
  const small = correctExposure(resample(objectCrop(rgbOf(overWhite(img)), width / height, height), width, height))
  if (channels === 3) return small.data
  const grey = new Uint8Array(width * height)
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round(luminance(small.data[i * 3], small.data[i * 3 + 1], small.data[i * 3 + 2]))
  return grey
}
