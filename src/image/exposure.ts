/**
 * Exposure for photo models: a picture whose tonal range ends outside the range that the model's
 * training pictures occupy is brought back to the training pictures' typical range before the
 * model; any other picture is left exactly as it is.
 *
 * Two statistics of the luminance, on the model's own input (the crop once resampled, so they are
 * measured as on the training pictures): the black point (the TAIL_PERCENT percentile) and the
 * white point (100 - TAIL_PERCENT). TRAINING_TONES holds, for each, the range that the middle
 * RANGE_SHARE of the CIFAR-10 training pictures span and their median, as computed by
 * scripts/bench/photo-style-exposure-range.ts. The correction is a levels curve, the same for R,
 * G and B (hues kept):
 * - a white point below its range (no highlight as bright as nearly every training picture has:
 *   underexposed) is scaled up to the typical white point, black kept at 0, as more exposure
 *   would have done;
 * - a black point above its range (no shadow as dark: washed out or overexposed) is pulled down
 *   to the typical black point, white kept at 255;
 * - both: the one linear map taking the black point and white point to their typical values.
 * A picture whose black and white points lie less than MIN_CONTRAST apart (a flat colour, what the
 * other rules call blank) has no tonal range to correct and is left alone.
 * The median is not used: a dark or a bright scene can have any median.
 * Clipped highlights stay white: what clipping lost is not made up.
 */
import { luminance, MIN_CONTRAST } from './ink'
import type { Raster } from './resize'

/** A statistic's range among the training pictures and its median there, 0..255. */
export interface ToneRange {
  lo: number
  typical: number
  hi: number
}

/** Luminance percentiles of one picture, 0..255. */
export interface Tones {
  black: number
  white: number
}

/** The percentile of each picture's luminance taken as its black point, and (100 minus it) as its white point. */
export const TAIL_PERCENT = 1
/** The share of training pictures whose statistic lies inside the range (the same share left out at either end). */
export const RANGE_SHARE = 0.99

/** CIFAR-10 training split, 50,000 pictures (see scripts/bench/photo-style-exposure-range.ts). */
export const TRAINING_TONES: Record<keyof Tones, ToneRange> = {
  black: { lo: 0, typical: 25, hi: 105 },
  white: { lo: 124, typical: 224, hi: 255 },
}

/** The black point and white point of an RGB raster's luminance (each pixel's rounded luminance). */
export function tonesOf(r: Raster): Tones {
  const hist = new Uint32Array(256)
  const n = r.width * r.height
  const C = r.channels
  for (let i = 0; i < n; i++) hist[C >= 3 ? Math.round(luminance(r.data[i * C], r.data[i * C + 1], r.data[i * C + 2])) : r.data[i * C]]++
  return { black: percentile(hist, n, TAIL_PERCENT), white: percentile(hist, n, 100 - TAIL_PERCENT) }
}

/** The value below which fewer than p% of the n counted values lie, and at or below which more than p% do. */
function percentile(hist: Uint32Array, n: number, p: number): number {
  const rank = (p / 100) * n
  let seen = 0
  for (let v = 0; v < 256; v++) if ((seen += hist[v]) > rank) return v
  return 255
}

/** The levels curve for a picture with these tones (value -> value, 0..255, unrounded), or undefined when they lie inside the training range. */
export function exposureCurve(t: Tones, range = TRAINING_TONES): ((v: number) => number) | undefined {
  if (t.white - t.black < MIN_CONTRAST) return undefined
  let [lo, toLo, hi, toHi] = [0, 0, 255, 255]
  if (t.white < range.white.lo && t.white > 0) [hi, toHi] = [t.white, range.white.typical]
  if (t.black > range.black.hi && t.black < 255) [lo, toLo] = [t.black, range.black.typical]
  if ((lo === 0 && hi === 255) || hi <= lo) return undefined
  return (v: number) => Math.min(255, Math.max(0, toLo + ((v - lo) * (toHi - toLo)) / (hi - lo)))
}

/** `r` itself when its tones lie inside the training range, otherwise a copy with the exposure curve applied to every channel. */
export function correctExposure(r: Raster, range = TRAINING_TONES): Raster {
  const curve = exposureCurve(tonesOf(r), range)
  if (!curve) return r
  const table = Uint8Array.from({ length: 256 }, (_, v) => Math.round(curve(v)))
  return { ...r, data: r.data.map((v) => table[v]) }
}
