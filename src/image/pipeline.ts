/**
 * The whole pure preprocessing step: RGBA pixels in, the model's raw 8-bit
 * input out (height*width*channels bytes, HWC, before the worker normalises
 * it), or a reason why not. What to do is the model's manifest `input`:
 * `preprocess` picks digits/garments or photos, and for the former `frame`
 * says how its data set framed the object. No DOM here, so it is unit-tested
 * in Node.
 */
import { DEFAULT_FRAME, type InputSpec } from '../model/manifest'
import { isFullyTransparent, overWhite } from './alpha'
import { toFashionFrame } from './fashion-frame'
import { MIN_CONTRAST, toInk, type InkResult, type Rgba } from './ink'
import { BOX, FRAME, toMnistFrame } from './mnist-frame'
import { toPhotoFrame } from './photo-frame'
import { removeRuling } from './ruled-lines'
import { GARMENT_SHEET_MAX_MARKS, SHEET_MAX_MARKS } from './sheet'
import { straighten } from './straighten'

export type Preprocessed =
  | {
      ok: true
      pixels: Uint8Array
      /** how the background was read (digits and garments only), for the UI */
      background?: 'transparent' | 'light' | 'dark'
    }
  | { ok: false; reason: string }

export const EMPTY_MESSAGE = 'The image is empty. Nothing was sent.'
export const BLANK_MESSAGE = 'No digit found: the image looks blank. Nothing was sent.'
export const BLANK_OBJECT_MESSAGE = 'Nothing stands out from the background: the image looks blank. Nothing was sent.'
export const TRANSPARENT_MESSAGE = 'The image is fully transparent: there is nothing to see. Nothing was sent.'

export function preprocessFor(input: InputSpec, img: Rgba): Preprocessed {
  if (img.width < 1 || img.height < 1) return { ok: false, reason: EMPTY_MESSAGE }
  const { width, height, channels } = input
  if (input.preprocess === 'photo') {
    if (isFullyTransparent(img)) return { ok: false, reason: TRANSPARENT_MESSAGE }
    return { ok: true, pixels: toPhotoFrame(img, width, height, channels) }
  }
  const frame = input.frame ?? DEFAULT_FRAME
  const r = frame.centre === 'mass' ? digit(img, frame.fit, width, height) : garment(img, frame.fit, width, height)
  return r.ok && channels === 3 ? { ...r, pixels: greyToRgb(r.pixels) } : r
}

/** MNIST's rule on a 28x28 frame (the digit rule of preprocessFor, for callers without a manifest). */
export function preprocess(img: Rgba): Preprocessed {
  if (img.width < 1 || img.height < 1) return { ok: false, reason: EMPTY_MESSAGE }
  return digit(img, BOX, FRAME, FRAME)
}

/**
 * Strokes: on a transparent sheet the opacity is the ink, whatever its colour; a photo of a
 * sheet on a desk is read on the sheet, and a notebook page's printed lines are taken off.
 */
function digit(img: Rgba, fit: number, width: number, height: number): Preprocessed {
  const ink = toInk(img, { sheetMaxMarks: SHEET_MAX_MARKS })
  if (ink.contrast < MIN_CONTRAST) return { ok: false, reason: BLANK_MESSAGE }
  // notebook paper: its printed lines are not the digit
  if (ink.background === 'light') removeRuling(ink, ink.sheet)
  const pixels = toMnistFrame(upright(ink), fit, width, height)
  if (!pixels) return { ok: false, reason: BLANK_MESSAGE }
  return { ok: true, pixels, background: ink.background }
}

/**
 * A solid object: a transparent background is white paper, so the object keeps its shading; a
 * photo of a sheet (or a bed sheet) with the garment on it, lying on a darker surface, is read on
 * the sheet, which a garment drawn on it can cover most of.
 */
function garment(img: Rgba, fit: number, width: number, height: number): Preprocessed {
  const ink = toInk(overWhite(img), { sheetMaxMarks: GARMENT_SHEET_MAX_MARKS })
  if (ink.contrast < MIN_CONTRAST) return { ok: false, reason: BLANK_OBJECT_MESSAGE }
  const pixels = toFashionFrame(upright(ink), fit, width, height)
  if (!pixels) return { ok: false, reason: BLANK_OBJECT_MESSAGE }
  return { ok: true, pixels, background: ink.background }
}

/** On a sheet turned on a desk, the drawing turned back with it. */
function upright(ink: InkResult): InkResult {
  return ink.sheet && ink.sheetAngle !== undefined ? { ...ink, ...straighten(ink, ink.sheet, ink.sheetAngle) } : ink
}

function greyToRgb(grey: Uint8Array): Uint8Array {
  const out = new Uint8Array(grey.length * 3)
  for (let i = 0; i < grey.length; i++) out.fill(grey[i], i * 3, i * 3 + 3)
  return out
}
