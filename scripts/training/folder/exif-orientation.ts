/**
 * EXIF orientation of a JPEG (tag 0x0112 in the APP1 Exif block's first IFD) and the turn or
 * mirror that makes the picture upright, as the browser's decoder applies it
 * (`createImageBitmap(file, { imageOrientation: 'from-image' })` in workers/image/decode.ts).
 * jpeg-js returns the stored pixels only, so the folder reader applies the orientation here.
 */
import type { Rgba } from '../../../src/image/ink'

/** 1 (upright, also when absent or unreadable) to 8, as EXIF numbers them. */
export function jpegOrientation(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return 1
  let at = 2
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1]
    if (marker === 0xda || marker === 0xd9) return 1
    const length = view.getUint16(at + 2)
    if (marker === 0xe1 && at + 10 <= bytes.length && view.getUint32(at + 4) === 0x45786966) return tiffOrientation(view, at + 10, at + 2 + length)
    at += 2 + length
  }
  return 1
}

function tiffOrientation(view: DataView, tiff: number, end: number): number {
  if (tiff + 8 > end || end > view.byteLength) return 1
  const little = view.getUint16(tiff) === 0x4949
  const u16 = (at: number) => view.getUint16(at, little)
  const ifd = tiff + view.getUint32(tiff + 4, little)
  if (ifd + 2 > end) return 1
  const count = u16(ifd)
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + 12 * i
    if (entry + 12 > end) return 1
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8)
      return value >= 1 && value <= 8 ? value : 1
    }
  }
  return 1
}

/** The picture as EXIF orientation `o` says it should be shown (5 to 8 swap width and height). */
export function applyOrientation(img: Rgba, o: number): Rgba {
  if (o <= 1 || o > 8) return img
  const { width: W, height: H, data } = img
  const swap = o >= 5
  const width = swap ? H : W
  const height = swap ? W : H
  const out = new Uint8ClampedArray(width * height * 4)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      // the stored pixel (sx, sy) shown at (x, y)
      let sx: number, sy: number
      switch (o) {
        case 2: [sx, sy] = [W - 1 - x, y]; break
        case 3: [sx, sy] = [W - 1 - x, H - 1 - y]; break
        case 4: [sx, sy] = [x, H - 1 - y]; break
        case 5: [sx, sy] = [y, x]; break
        case 6: [sx, sy] = [y, H - 1 - x]; break
        case 7: [sx, sy] = [W - 1 - y, H - 1 - x]; break
        default: [sx, sy] = [W - 1 - y, x]; break
      }
      const s = (sy * W + sx) * 4
      out.set(data.subarray(s, s + 4), (y * width + x) * 4)
    }
  return { width, height, data: out }
}
