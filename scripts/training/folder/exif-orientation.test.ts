/** EXIF orientation: read from a JPEG's APP1 block and applied as the browser's decoder applies it. */
import jpeg from 'jpeg-js'
import { describe, expect, it } from 'vitest'
import { applyOrientation, jpegOrientation } from './exif-orientation'
import { decodeImageFile } from './image-file'

/** A JPEG of `width` x `height` (left half black, right half white) with an Exif block saying `orientation`, little- or big-endian. */
function jpegWithOrientation(width: number, height: number, orientation: number, little = true): Uint8Array {
  const data = Buffer.alloc(width * height * 4)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.fill(x < width / 2 ? 0 : 255, (y * width + x) * 4, (y * width + x) * 4 + 3), (data[(y * width + x) * 4 + 3] = 255)
  const plain = jpeg.encode({ data, width, height }, 95).data
  const u16 = (v: number) => (little ? [v & 0xff, v >> 8] : [v >> 8, v & 0xff])
  const u32 = (v: number) => (little ? [v & 0xff, (v >> 8) & 0xff, 0, 0] : [0, 0, (v >> 8) & 0xff, v & 0xff])
  const tiff = [...(little ? [0x49, 0x49] : [0x4d, 0x4d]), ...u16(42), ...u32(8), ...u16(1), ...u16(0x0112), ...u16(3), ...u32(1), ...u16(orientation), 0, 0, ...u32(0)]
  const app1 = [0xff, 0xe1, 0, 2 + 6 + tiff.length, ...Buffer.from('Exif\0\0', 'latin1'), ...tiff]
  return Uint8Array.from([...plain.subarray(0, 2), ...app1, ...plain.subarray(2)])
}

describe('jpegOrientation', () => {
  it('reads the tag in either byte order, and 1 without one', () => {
    expect(jpegOrientation(jpegWithOrientation(8, 8, 6))).toBe(6)
    expect(jpegOrientation(jpegWithOrientation(8, 8, 3, false))).toBe(3)
    const plain = jpeg.encode({ data: Buffer.alloc(8 * 8 * 4, 255), width: 8, height: 8 }, 90).data
    expect(jpegOrientation(plain)).toBe(1)
    expect(jpegOrientation(Uint8Array.from([0x89, 0x50, 0x4e, 0x47]))).toBe(1)
  })
})

describe('applyOrientation', () => {
  // 3 wide, 2 high: pixel values 0..5 in reading order (in the red channel)
  const img = { width: 3, height: 2, data: Uint8ClampedArray.from([0, 1, 2, 3, 4, 5].flatMap((v) => [v, 0, 0, 255])) }
  const shown = (o: number) => {
    const r = applyOrientation(img, o)
    return { size: [r.width, r.height], red: Array.from(r.data).filter((_, i) => i % 4 === 0) }
  }
  it('turns and mirrors as EXIF says', () => {
    expect(shown(1)).toEqual({ size: [3, 2], red: [0, 1, 2, 3, 4, 5] })
    expect(shown(2)).toEqual({ size: [3, 2], red: [2, 1, 0, 5, 4, 3] })
    expect(shown(3)).toEqual({ size: [3, 2], red: [5, 4, 3, 2, 1, 0] })
    expect(shown(4)).toEqual({ size: [3, 2], red: [3, 4, 5, 0, 1, 2] })
    expect(shown(5)).toEqual({ size: [2, 3], red: [0, 3, 1, 4, 2, 5] })
    // 6: stored turned a quarter anticlockwise, shown a quarter clockwise
    expect(shown(6)).toEqual({ size: [2, 3], red: [3, 0, 4, 1, 5, 2] })
    expect(shown(7)).toEqual({ size: [2, 3], red: [5, 2, 4, 1, 3, 0] })
    expect(shown(8)).toEqual({ size: [2, 3], red: [2, 5, 1, 4, 0, 3] })
  })
  it('is applied when a JPEG file is decoded', () => {
    // black left half, white right half, shown a quarter clockwise: black on top
    const img = decodeImageFile(jpegWithOrientation(16, 8, 6))
    expect([img.width, img.height]).toEqual([8, 16])
    expect(img.data[(2 * 8 + 4) * 4]).toBeLessThan(30)
    expect(img.data[(13 * 8 + 4) * 4]).toBeGreaterThan(225)
  })
})
