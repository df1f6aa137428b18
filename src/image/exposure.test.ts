import { describe, expect, it } from 'vitest'
import { imageAt, loadSplit } from '../datasets'
import { correctExposure, exposureCurve, tonesOf, TRAINING_TONES, type Tones } from './exposure'
import { luminance } from './ink'
import type { Raster } from './resize'

const test = loadSplit('cifar10', 'test')
const picture = (i: number): Raster => ({ width: 32, height: 32, channels: 3, data: Uint8Array.from(imageAt(test, i)) })
/** The first ten CIFAR-10 test pictures: ordinary photos, their tones inside the training range. */
const ORDINARY = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

/**
 * A change of exposure as a camera makes it: 8-bit values to linear light (the sRGB curve's
 * gamma 2.2 approximation), times 2^stops, back, clipped at white.
 */
function exposed(r: Raster, stops: number): Raster {
  return { ...r, data: r.data.map((v) => Math.round(255 * Math.min(1, Math.pow(v / 255, 2.2) * 2 ** stops) ** (1 / 2.2))) }
}

/** Washed out, as flare or a lifted black leaves a picture: every value squeezed towards white, black raised to `black`. */
function washedOut(r: Raster, black: number): Raster {
  return { ...r, data: r.data.map((v) => Math.round(black + (v * (255 - black)) / 255)) }
}

/** Each value times `gain` plus `lift`, clipped at white: a linear overexposure that loses its highlights. */
function linear(r: Raster, gain: number, lift: number): Raster {
  return { ...r, data: r.data.map((v) => Math.min(255, Math.round(v * gain + lift))) }
}

/** CIFAR-10 test pictures of bright scenes: black point above 80, over a fifth of the pixels at luminance 250 or more. */
const BRIGHT = [142, 215, 1143]
const clippedShare = (r: Raster) => {
  let n = 0
  for (let i = 0; i < r.width * r.height; i++) if (luminance(r.data[i * 3], r.data[i * 3 + 1], r.data[i * 3 + 2]) >= 249.5) n++
  return n / (r.width * r.height)
}

const meanAbs = (a: Raster, b: Raster) => a.data.reduce((s, v, i) => s + Math.abs(v - b.data[i]), 0) / a.data.length
const inRange = (t: Tones) => (Object.keys(TRAINING_TONES) as (keyof Tones)[]).every((k) => t[k] >= TRAINING_TONES[k].lo && t[k] <= TRAINING_TONES[k].hi)

describe('exposure step', () => {
  it('leaves an ordinary picture exactly as it is', () => {
    for (const i of ORDINARY) {
      const r = picture(i)
      expect(inRange(tonesOf(r)), `test picture ${i}`).toBe(true)
      expect(correctExposure(r), `test picture ${i}`).toBe(r)
    }
  })

  it('brings an underexposed picture (2.5 stops) back near the original: its white point typical again, the pixels much nearer', () => {
    for (const i of ORDINARY) {
      const original = picture(i)
      const dark = exposed(original, -2.5)
      expect(inRange(tonesOf(dark)), `test picture ${i}`).toBe(false)
      const fixed = correctExposure(dark)
      expect(inRange(tonesOf(fixed)), `test picture ${i}`).toBe(true)
      expect(Math.abs(tonesOf(fixed).white - TRAINING_TONES.white.typical), `test picture ${i}`).toBeLessThanOrEqual(2)
      expect(meanAbs(fixed, original), `test picture ${i}`).toBeLessThan(meanAbs(dark, original) * 0.6)
    }
  })

  it('brings an overexposed, washed-out picture back near the original: its black point typical again, the pixels much nearer', () => {
    for (const i of ORDINARY) {
      const original = picture(i)
      const bright = washedOut(exposed(original, 0.5), 120)
      expect(inRange(tonesOf(bright)), `test picture ${i}`).toBe(false)
      const fixed = correctExposure(bright)
      expect(inRange(tonesOf(fixed)), `test picture ${i}`).toBe(true)
      expect(Math.abs(tonesOf(fixed).black - TRAINING_TONES.black.typical), `test picture ${i}`).toBeLessThanOrEqual(2)
      expect(meanAbs(fixed, original), `test picture ${i}`).toBeLessThan(meanAbs(bright, original) * 0.6)
    }
  })

  it('leaves bright originals alone although their tones look overexposed: shadows lifted, a fifth or more clipped white', () => {
    for (const i of BRIGHT) {
      const r = picture(i)
      const t = tonesOf(r)
      expect(t.black, `test picture ${i}`).toBeGreaterThan(80)
      expect(clippedShare(r), `test picture ${i}`).toBeGreaterThan(0.2)
      expect(correctExposure(r), `test picture ${i}`).toBe(r)
    }
  })

  it('passes on an overexposed photo whose black point stays inside the range: what clipping took cannot be told from a bright scene', () => {
    const original = picture(300)
    const bright = linear(original, 1.5, 30)
    expect(tonesOf(bright).black).toBeGreaterThan(tonesOf(original).black)
    expect(tonesOf(bright).black).toBeLessThanOrEqual(TRAINING_TONES.black.hi)
    expect(clippedShare(bright)).toBeGreaterThan(clippedShare(original))
    expect(correctExposure(bright)).toBe(bright)
  })

  it('reads the black and white points of the luminance', () => {
    const grey = (v: (i: number) => number): Raster => ({ width: 10, height: 10, channels: 3, data: Uint8Array.from({ length: 300 }, (_, k) => v(Math.floor(k / 3))) })
    expect(tonesOf(grey((i) => i * 2))).toEqual({ black: 2, white: 198 })
    expect(tonesOf(grey(() => 77))).toEqual({ black: 77, white: 77 })
    expect(tonesOf({ width: 1, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0]) })).toEqual({ black: 76, white: 76 })
  })

  it('levels: a dim picture scaled with black kept at 0, a washed-out one pulled down with white kept at 255, a flat one left alone', () => {
    const dim = exposureCurve({ black: 0, white: 56 })!
    expect([dim(0), dim(28), dim(56), dim(200)]).toEqual([0, TRAINING_TONES.white.typical / 2, TRAINING_TONES.white.typical, 255])
    const washed = exposureCurve({ black: 180, white: 255 })!
    expect([washed(180), washed(255), washed(0)]).toEqual([TRAINING_TONES.black.typical, 255, 0])
    expect(exposureCurve({ black: 120, white: 120 })).toBeUndefined()
    expect(exposureCurve({ black: 60, white: 99 }), 'a flat, dim picture: no tonal range to correct').toBeUndefined()
    const flat: Raster = { width: 4, height: 4, channels: 3, data: new Uint8Array(48).fill(40) }
    expect(correctExposure(flat)).toBe(flat)
    expect(exposureCurve({ black: 0, white: 0 })).toBeUndefined()
    expect(exposureCurve({ black: 255, white: 255 })).toBeUndefined()
  })
})
