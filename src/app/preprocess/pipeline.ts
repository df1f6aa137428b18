/**
 * The whole pure preprocessing step: RGBA pixels in, the 784 values the model
 * sees out, or a reason why not. No DOM here, so it is unit-tested in Node.
 */
import { MIN_CONTRAST, toInk, type Rgba } from './ink'
import { toMnistFrame } from './mnist-frame'

export type Preprocessed =
  | { ok: true; pixels: Uint8Array; background: 'transparent' | 'light' | 'dark' }
  | { ok: false; reason: string }

export const BLANK_MESSAGE = 'No digit found: the image looks blank. Nothing was sent.'

export function preprocess(img: Rgba): Preprocessed {
  if (img.width < 1 || img.height < 1) return { ok: false, reason: 'The image is empty. Nothing was sent.' }
  const ink = toInk(img)
  if (ink.contrast < MIN_CONTRAST) return { ok: false, reason: BLANK_MESSAGE }
  const pixels = toMnistFrame(ink)
  if (!pixels) return { ok: false, reason: BLANK_MESSAGE }
  return { ok: true, pixels, background: ink.background }
}
