/**
 * An image file -> the RGBA pixels the page's image worker would read from it
 * (workers/image/decode.ts), in Node: PNG through pngjs, JPEG through jpeg-js with its EXIF
 * orientation applied, the page's size limits, and the picture scaled down to at most WORK_SIDE
 * on a side. Where the browser scales with its own resampler, this uses src/image's area
 * averaging, and colour profiles (ICC, PNG gamma) are not applied: docs/your-own-model.md says
 * what that changes.
 */
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import { declaredSize } from '../../../src/image/image-dimensions'
import type { Rgba } from '../../../src/image/ink'
import { MAX_BYTES, MAX_PIXELS, WORK_SIDE } from '../../../src/image/limits'
import { areaAverage } from '../../../src/image/resize'
import { applyOrientation, jpegOrientation } from './exif-orientation'

/** File name endings the folder reader decodes. */
export const DECODED_EXTENSIONS = ['.png', '.jpg', '.jpeg']

export function decodeImageFile(bytes: Uint8Array): Rgba {
  if (bytes.length === 0) throw new Error('empty file')
  if (bytes.length > MAX_BYTES) throw new Error(`${(bytes.length / 1048576).toFixed(1)} MB, over the page's limit of ${MAX_BYTES / 1048576} MB`)
  const isPng = bytes[0] === 0x89 && bytes[1] === 0x50
  if (!isPng && !(bytes[0] === 0xff && bytes[1] === 0xd8)) throw new Error('not a PNG or JPEG file')
  // refused from the header, before the decoder allocates the pixels
  const declared = declaredSize(bytes)
  if (declared) checkPixels(declared.width, declared.height)
  let img: Rgba
  if (isPng) {
    img = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  } else {
    img = applyOrientation(jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6 }), jpegOrientation(bytes))
  }
  checkPixels(img.width, img.height)
  return workSize(img)
}

function checkPixels(width: number, height: number): void {
  if (width * height > MAX_PIXELS) throw new Error(`${Math.round((width * height) / 1e6)} megapixels, over the page's limit of ${MAX_PIXELS / 1e6}`)
}

/** At most WORK_SIDE on a side, sized as the page sizes it. */
function workSize(img: Rgba): Rgba {
  const scale = Math.min(1, WORK_SIDE / Math.max(img.width, img.height))
  if (scale === 1) return img
  const width = Math.max(1, Math.round(img.width * scale))
  const height = Math.max(1, Math.round(img.height * scale))
  const small = areaAverage({ width: img.width, height: img.height, channels: 4, data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength) }, width, height)
  return { width, height, data: small.data }
}
