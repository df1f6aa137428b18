/**
 * Blob or bitmap -> RGBA pixels, in the image worker. createImageBitmap
 * decodes, and a second createImageBitmap downscales so that the pixels read
 * back are at most WORK_SIDE on a side (a full-size photo would be tens of MB
 * of RGBA and a long scan for nothing).
 */
import type { Rgba } from '../../src/image/ink'
import { declaredSize, HEADER_BYTES } from '../../src/image/image-dimensions'
import { MAX_BYTES, MAX_PIXELS, WORK_SIDE } from '../../src/image/limits'

/** Something wrong with the user's image: its message is shown on the image's card. */
export class InputError extends Error {
  override name = 'InputError'
}

export async function decodeImage(file: Blob): Promise<Rgba> {
  if (file.size > MAX_BYTES)
    throw new InputError(`This file is ${(file.size / 1048576).toFixed(1)} MB; the limit is ${MAX_BYTES / 1048576} MB. Nothing was sent.`)
  if (file.size === 0) throw new InputError('This file is empty. Nothing was sent.')
  // refuse oversized images from their header, before the decoder allocates them
  const declared = declaredSize(new Uint8Array(await file.slice(0, HEADER_BYTES).arrayBuffer()))
  if (declared) checkPixels(declared.width, declared.height)
  let bitmap: ImageBitmap
  try {
    // EXIF orientation applied, so a phone photo is upright as its owner sees it (Chromium's default, stated)
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' })
  } catch {
    throw new InputError('This file is not an image this browser can read (PNG, JPEG, WebP, GIF or BMP). Nothing was sent.')
  }
  try {
    checkPixels(bitmap.width, bitmap.height)
    return await bitmapPixels(bitmap)
  } finally {
    bitmap.close()
  }
}

function checkPixels(width: number, height: number): void {
  if (width * height > MAX_PIXELS)
    throw new InputError(`This image has ${Math.round((width * height) / 1e6)} megapixels; the limit is ${MAX_PIXELS / 1e6}. Nothing was sent.`)
}

/** At most WORK_SIDE on a side; the caller still owns (and closes) `bitmap`. */
export async function bitmapPixels(bitmap: ImageBitmap): Promise<Rgba> {
  const scale = Math.min(1, WORK_SIDE / Math.max(bitmap.width, bitmap.height))
  const width = Math.max(1, Math.round(bitmap.width * scale))
  const height = Math.max(1, Math.round(bitmap.height * scale))
  const small = scale < 1 ? await createImageBitmap(bitmap, { resizeWidth: width, resizeHeight: height, resizeQuality: 'high' }) : bitmap
  try {
    const canvas = new OffscreenCanvas(width, height)
    const ctx = canvas.getContext('2d', { willReadFrequently: true })
    if (!ctx) throw new InputError('This browser cannot read image pixels.')
    // no fill: transparent stays transparent, which toInk reads as background
    ctx.drawImage(small, 0, 0, width, height)
    const { data } = ctx.getImageData(0, 0, width, height)
    return { width, height, data }
  } finally {
    if (small !== bitmap) small.close()
  }
}
