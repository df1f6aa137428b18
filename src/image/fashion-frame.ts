/**
 * Object ink -> the frame Fashion-MNIST garments live in, by Zalando's
 * documented conversion (Xiao, Rasul, Vollgraf 2017, section 2): trim the
 * edges within 5% of full intensity of the background, resize the longest
 * edge to `fit` (28), sharpen, extend the shorter edge to the frame and
 * centre the bounding box (not the centre of mass, as MNIST does). The
 * negation and 8-bit grey steps are toInk's: the garment comes out bright on
 * black, its darkest part at 255, as in every Fashion-MNIST image.
 */
import type { InkResult } from './ink'
import { atFrameScale, crop, fitLongestSide, place } from './mnist-frame'
import { sharpen } from './sharpen'
import { speckPixels, specklessBounds } from './speckless-bounds'

/** "closeness" to the background colour that is trimmed, as a fraction of full intensity */
export const TRIM = 0.05

/** Returns null when nothing but specks (speckless-bounds.ts) stands out of the background by more than TRIM. */
export function toFashionFrame(ink: InkResult, fit: number, width: number, height: number): Uint8Array | null {
  // ink is stretched so the strongest contrast reads 255: TRIM of the original scale, in ink units
  const bounds = specklessBounds(ink, (TRIM * 255 * 255) / Math.max(1, ink.contrast), speckPixels(Math.max(ink.width, ink.height), fit))
  if (!bounds) return null
  // already in the frame (a Fashion-MNIST image as a file): centre its box, nothing else
  if (atFrameScale(ink, bounds, fit, width, height)) return place(ink, width, height, Math.ceil((width - bounds.width) / 2) - bounds.x, Math.ceil((height - bounds.height) / 2) - bounds.y)
  const garment = sharpen(fitLongestSide(crop(ink, bounds), fit))
  // an odd margin puts its extra pixel left and top, as measured on the official test images
  return place(garment, width, height, Math.ceil((width - garment.width) / 2), Math.ceil((height - garment.height) / 2))
}
