/** The image fixtures of src/datasets/fixtures/photos.ts: that they are what the round trips and the browser tests take them for. */
import { describe, expect, it } from 'vitest'
import { cifarPhotoPixels, enlarge, garmentOnWhitePixels, y4mFromRgb } from '../datasets/fixtures/photos'
import { areaAverage, type Raster } from './resize'

let seed = 7
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
/** pixel noise of +-`amplitude` around mid grey */
const noise = (width: number, height: number, channels: number, amplitude = 100): Raster => ({
  width,
  height,
  channels,
  data: Uint8Array.from({ length: width * height * channels }, () => 128 + Math.round((2 * random() - 1) * amplitude)),
})

describe('enlarge', () => {
  // the prefilter up to quadruples a pixel-to-pixel checker, so noise of +-30 stays clear of clamping at 0 and 255
  it('is undone by area averaging: shrinking an 8x enlargement gives the image back', () => {
    const img = noise(32, 32, 3, 30)
    const back = areaAverage(enlarge(img, 256, 256), 32, 32)
    let worst = 0
    for (let i = 0; i < img.data.length; i++) worst = Math.max(worst, Math.abs(back.data[i] - img.data[i]))
    expect(worst).toBeLessThanOrEqual(1)
  })
})

describe('cifarPhotoPixels', () => {
  it('puts the square picture in the middle of a wider one, its edges mirrored outwards', () => {
    const rgb = noise(32, 32, 3).data
    const square = cifarPhotoPixels(rgb, { side: 64 })
    const wide = cifarPhotoPixels(rgb, { side: 64, width: 100 })
    expect([wide.width, wide.height]).toEqual([100, 64])
    for (let y = 0; y < 64; y++) {
      expect(Array.from(wide.data.subarray((y * 100 + 18) * 4, (y * 100 + 82) * 4))).toEqual(Array.from(square.data.subarray(y * 64 * 4, (y + 1) * 64 * 4)))
      expect(Array.from(wide.data.subarray((y * 100 + 17) * 4, (y * 100 + 18) * 4))).toEqual(Array.from(square.data.subarray(y * 64 * 4, y * 64 * 4 + 4)))
    }
  })
})

describe('garmentOnWhitePixels', () => {
  it('draws the garment dark on a white sheet, off-centre', () => {
    const gray = new Uint8Array(784)
    gray[14 * 28 + 14] = 255
    const img = garmentOnWhitePixels(gray, { side: 56, sheet: { width: 100, height: 80, x: 10, y: 20 } })
    expect([img.width, img.height]).toEqual([100, 80])
    expect(Array.from(img.data.subarray(0, 4))).toEqual([255, 255, 255, 255])
    const at = ((20 + 29) * 100 + 10 + 29) * 4
    expect(img.data[at]).toBeLessThan(100)
  })
})

describe('y4mFromRgb', () => {
  it('writes a YUV4MPEG2 header and BT.601 studio-range 4:2:0 frames', () => {
    // 4x2: two flat 2x2 blocks, white then pure red
    const rgb = new Uint8Array(4 * 2 * 3)
    for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) rgb.set(x < 2 ? [255, 255, 255] : [255, 0, 0], (y * 4 + x) * 3)
    const clip = y4mFromRgb(4, 2, rgb, 2)
    const header = 'YUV4MPEG2 W4 H2 F30:1 Ip A1:1 C420jpeg\n'
    expect(clip.subarray(0, header.length).toString('latin1')).toBe(header)
    const frame = 6 + 8 + 2 + 2
    expect(clip.length).toBe(header.length + 2 * frame)
    const f = clip.subarray(header.length)
    expect(f.subarray(0, 6).toString('latin1')).toBe('FRAME\n')
    expect(Array.from(f.subarray(6, 14))).toEqual([235, 235, 81, 81, 235, 235, 81, 81])
    expect(Array.from(f.subarray(14, 16))).toEqual([128, 90]) // Cb: white neutral, red below
    expect(Array.from(f.subarray(16, 18))).toEqual([128, 240]) // Cr: red at its maximum
    expect(Buffer.compare(f.subarray(0, frame), f.subarray(frame))).toBe(0)
  })

  it('refuses odd sides, which 4:2:0 cannot carry', () => {
    expect(() => y4mFromRgb(3, 2, new Uint8Array(18))).toThrow(RangeError)
  })
})
