import { describe, expect, it } from 'vitest'
import { areaAverage, bilinear, resample, type Raster } from './resize'

const grey = (width: number, height: number, value: (x: number, y: number) => number): Raster => {
  const data = new Uint8Array(width * height)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = value(x, y)
  return { width, height, channels: 1, data }
}

/** What a resampler without a low-pass does: one source pixel per output pixel. */
function nearest(src: Raster, width: number, height: number): Raster {
  const data = new Uint8Array(width * height)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = src.data[Math.floor(((y + 0.5) * src.height) / height) * src.width + Math.floor(((x + 0.5) * src.width) / width)]
  return { width, height, channels: 1, data }
}

const spread = (r: Raster) => Math.max(...r.data) - Math.min(...r.data)

describe('area averaging', () => {
  it('turns a 64x64 checkerboard of 1 px cells into uniform 127.5 (rounded to 128) at 32x32', () => {
    const out = areaAverage(grey(64, 64, (x, y) => ((x + y) % 2 ? 255 : 0)), 32, 32)
    expect(new Set(out.data)).toEqual(new Set([128]))
  })

  it('keeps the checkerboard near uniform at a fractional ratio (64 -> 28), weighting partly covered pixels', () => {
    const out = areaAverage(grey(64, 64, (x, y) => ((x + y) % 2 ? 255 : 0)), 28, 28)
    for (const v of out.data) expect(Math.abs(v - 127.5)).toBeLessThanOrEqual(8)
  })

  it('gives back the blocks of an image of 2x2 blocks, per channel', () => {
    const small = { width: 3, height: 2, channels: 3, data: Uint8Array.from({ length: 18 }, (_, i) => (i * 37) % 256) }
    const big = new Uint8Array(6 * 4 * 3)
    for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) for (let c = 0; c < 3; c++) big[(y * 6 + x) * 3 + c] = small.data[((y >> 1) * 3 + (x >> 1)) * 3 + c]
    expect(Array.from(areaAverage({ width: 6, height: 4, channels: 3, data: big }, 3, 2).data)).toEqual(Array.from(small.data))
  })

  it('does not alias: 1 px stripes (period 3) shrink to their mean, where nearest neighbour makes false bands', () => {
    const stripes = grey(300, 300, (x) => (x % 3 === 0 ? 255 : 0))
    const area = areaAverage(stripes, 32, 32)
    for (const v of area.data) expect(Math.abs(v - 85)).toBeLessThanOrEqual(10)
    expect(spread(nearest(stripes, 32, 32))).toBe(255)
  })
})

describe('resample', () => {
  it('enlarges with bilinear: a uniform image stays uniform, a ramp stays monotonic, values stay in range', () => {
    expect(new Set(resample(grey(3, 3, () => 200), 7, 5).data)).toEqual(new Set([200]))
    const ramp = resample(grey(4, 1, (x) => x * 80), 32, 1).data
    for (let x = 1; x < 32; x++) expect(ramp[x]).toBeGreaterThanOrEqual(ramp[x - 1])
  })

  it('clamps bilinear output to 0..255 for values outside it (prefiltered fixtures)', () => {
    const out = bilinear({ width: 2, height: 1, channels: 1, data: [-40, 300] }, 4, 1)
    expect(Array.from(out.data)).toEqual([0, 45, 215, 255])
  })
})
