/**
 * Ink -> the frame MNIST digits live in: crop to the ink's bounding box,
 * scale the longest side to `fit` px (MNIST: 20) keeping the aspect ratio,
 * and place the result in the frame (MNIST: 28x28) so that its centre of
 * mass sits at the centre.
 */
import type { Gray } from './ink'
import { resize } from './resize'

export const FRAME = 28
export const BOX = 20
/** ink at or above this (of 255) counts for the bounding box; JPEG noise stays below */
export const BBOX_THRESHOLD = 64

export interface Box {
  x: number
  y: number
  width: number
  height: number
}

export function inkBounds(img: Gray, threshold = BBOX_THRESHOLD): Box | null {
  let minX = img.width
  let minY = img.height
  let maxX = -1
  let maxY = -1
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (img.data[y * img.width + x] < threshold) continue
      if (x < minX) minX = x
      if (x > maxX) maxX = x
      if (y < minY) minY = y
      if (y > maxY) maxY = y
    }
  }
  return maxX < 0 ? null : { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 }
}

export function crop(img: Gray, b: Box): Gray {
  const out = new Uint8Array(b.width * b.height)
  for (let y = 0; y < b.height; y++) out.set(img.data.subarray((b.y + y) * img.width + b.x, (b.y + y) * img.width + b.x + b.width), y * b.width)
  return { width: b.width, height: b.height, data: out }
}

export function centreOfMass(img: Gray): { x: number; y: number } {
  let sum = 0
  let sx = 0
  let sy = 0
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const v = img.data[y * img.width + x]
      sum += v
      sx += v * x
      sy += v * y
    }
  }
  return sum === 0 ? { x: (img.width - 1) / 2, y: (img.height - 1) / 2 } : { x: sx / sum, y: sy / sum }
}

/** Scales `img` so that its longest side is `fit` px, keeping the aspect ratio. */
export function fitLongestSide(img: Gray, fit: number): Gray {
  const scale = fit / Math.max(img.width, img.height)
  const w = Math.max(1, Math.round(img.width * scale))
  const h = Math.max(1, Math.round(img.height * scale))
  return resize(img, w, h)
}

/** Copies `img` into a zeroed width x height frame at (offX, offY), clipping what falls outside. */
export function place(img: Gray, width: number, height: number, offX: number, offY: number): Uint8Array {
  const out = new Uint8Array(width * height)
  for (let y = 0; y < img.height; y++) {
    const ty = y + offY
    if (ty < 0 || ty >= height) continue
    for (let x = 0; x < img.width; x++) {
      const tx = x + offX
      if (tx < 0 || tx >= width) continue
      out[ty * width + tx] = img.data[y * img.width + x]
    }
  }
  return out
}

/** How far below `fit` an object's longest side may fall and still count as at the frame's scale. */
export const FRAME_SCALE_SLACK = 2

/**
 * A picture no larger than the frame whose object is already the frame's size (longest side
 * within FRAME_SCALE_SLACK of `fit`): a data set's own image saved as a file, the gallery's
 * samples. It is only moved into place: cropping would drop its faint edge below the box
 * threshold, resampling would blur it and sharpening would apply the data set's sharpening twice.
 */
export function atFrameScale(img: Gray, bounds: Box, fit: number, width: number, height: number): boolean {
  const longest = Math.max(bounds.width, bounds.height)
  return img.width <= width && img.height <= height && longest <= fit && longest >= fit - FRAME_SCALE_SLACK
}

/**
 * Returns null when there is no ink at all. The centre of mass lands on (width / 2, height / 2),
 * where MNIST's own digits have theirs (pixel indices from 0: the mean over the training set is 14.0).
 */
export function toMnistFrame(ink: Gray, fit = BOX, width = FRAME, height = FRAME): Uint8Array | null {
  const bounds = inkBounds(ink)
  if (!bounds) return null
  const digit = atFrameScale(ink, bounds, fit, width, height) ? ink : fitLongestSide(crop(ink, bounds), fit)
  const com = centreOfMass(digit)
  return place(digit, width, height, Math.round(width / 2 - com.x), Math.round(height / 2 - com.y))
}
