import { describe, expect, it } from 'vitest'
import type { InputSpec } from '../model/manifest'
import { overWhite } from './alpha'
import { tonesOf, TRAINING_TONES } from './exposure'
import type { Rgba } from './ink'
import { centreCrop } from './photo-frame'
import { preprocessFor, TRANSPARENT_MESSAGE } from './pipeline'

const CIFAR: InputSpec = { height: 32, width: 32, channels: 3, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26], preprocess: 'photo' }

function rgba(width: number, height: number, pixel: (x: number, y: number) => number[]): Rgba {
  const data = new Uint8ClampedArray(width * height * 4)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 4)
  return { width, height, data }
}

function photo(input: InputSpec, img: Rgba): Uint8Array {
  const r = preprocessFor(input, img)
  if (!r.ok) throw new Error(r.reason)
  return r.pixels
}

describe('photo rule', () => {
  it('composites transparency over white', () => {
    const out = overWhite(rgba(1, 3, (_, y) => [[0, 0, 0, 0], [0, 100, 200, 255], [0, 0, 0, 128]][y]))
    expect(Array.from(out.data)).toEqual([255, 255, 255, 255, 0, 100, 200, 255, 127, 127, 127, 255])
  })

  it('crops the largest centred square of a wide or tall picture', () => {
    const wide = { width: 5, height: 2, channels: 1, data: Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) }
    expect(centreCrop(wide, 1)).toEqual({ width: 2, height: 2, channels: 1, data: Uint8Array.from([1, 2, 6, 7]) })
    const tall = { width: 1, height: 4, channels: 1, data: Uint8Array.from([0, 1, 2, 3]) }
    expect(centreCrop(tall, 1)).toEqual({ width: 1, height: 1, channels: 1, data: Uint8Array.from([1]) })
  })

  it('keeps only the centre square of a 4:3 photo: red bands left and right do not reach the input', () => {
    const img = rgba(400, 300, (x) => (x < 50 || x >= 350 ? [255, 0, 0, 255] : [0, 90, 200, 255]))
    const px = photo(CIFAR, img)
    expect(px.length).toBe(32 * 32 * 3)
    for (let i = 0; i < 32 * 32; i++) expect(Array.from(px.subarray(i * 3, i * 3 + 3))).toEqual([0, 90, 200])
  })

  it('shrinks with area averaging, keeping RGB: a 2 px colour checkerboard becomes its mean colour', () => {
    const img = rgba(256, 256, (x, y) => ((x + y) % 2 ? [255, 0, 0, 255] : [0, 0, 255, 255]))
    const px = photo(CIFAR, img)
    for (let i = 0; i < 32 * 32; i++) expect(Array.from(px.subarray(i * 3, i * 3 + 3))).toEqual([128, 0, 128])
  })

  it('enlarges a picture smaller than the input (bilinear), colours kept', () => {
    const img = rgba(8, 8, (x) => (x < 4 ? [10, 20, 30, 255] : [200, 150, 100, 255]))
    const px = photo(CIFAR, img)
    expect(Array.from(px.subarray(0, 3))).toEqual([10, 20, 30])
    expect(Array.from(px.subarray(31 * 3, 32 * 3))).toEqual([200, 150, 100])
  })

  it('gives the luminance to a one-channel photo model', () => {
    const px = photo({ ...CIFAR, channels: 1, mean: [0.5], std: [0.25] }, rgba(64, 64, () => [255, 0, 0, 255]))
    expect(px.length).toBe(32 * 32)
    expect(new Set(px)).toEqual(new Set([76]))
  })

  it('brings a dim photo into the training pictures\' tonal range after resampling: white point typical, black kept', () => {
    const img = rgba(64, 64, (x, y) => [Math.round(((x + y) * 100) / 126), Math.round(((x + y) * 90) / 126), Math.round(((x + y) * 80) / 126), 255])
    const px = photo(CIFAR, img)
    expect(Math.abs(tonesOf({ width: 32, height: 32, channels: 3, data: px }).white - TRAINING_TONES.white.typical)).toBeLessThanOrEqual(3)
    // the darkest corner stays dark: a gain, not a lift
    expect(Math.max(...px.subarray(0, 3))).toBeLessThanOrEqual(3)
  })

  it('refuses a fully transparent picture and an empty one, saying nothing was sent', () => {
    expect(preprocessFor(CIFAR, rgba(10, 10, () => [0, 0, 0, 0]))).toEqual({ ok: false, reason: TRANSPARENT_MESSAGE })
    const empty = preprocessFor(CIFAR, { width: 0, height: 0, data: new Uint8ClampedArray(0) })
    expect(empty.ok).toBe(false)
    if (!empty.ok) expect(empty.reason).toMatch(/Nothing was sent/)
  })
})
