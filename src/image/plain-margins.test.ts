import { describe, expect, it } from 'vitest'
import { overWhite, rgbOf } from './alpha'
import type { Rgba } from './ink'
import { centreCrop, objectCrop } from './photo-frame'
import { PLAIN_TOLERANCE, unplainBox } from './plain-margins'
import type { Raster } from './resize'

let seed = 11
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31

/** width x height RGB, each pixel from `pixel` */
function rgb(width: number, height: number, pixel: (x: number, y: number) => number[]): Raster {
  const data = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 3)
  return { width, height, channels: 3, data }
}

/** a busy picture: every pixel its own colour */
const busy = () => {
  const c = () => Math.round(random() * 255)
  return () => [c(), c(), c()]
}

/** `inner` (a busy w x h picture) at (x0, y0) on a `bg` background */
function framed(width: number, height: number, bg: number[], x0: number, y0: number, w: number, h: number): Raster {
  const pixels = busy()
  return rgb(width, height, (x, y) => (x >= x0 && x < x0 + w && y >= y0 && y < y0 + h ? pixels() : bg))
}

describe('unplainBox', () => {
  it('peels black bars off a pillarboxed picture and white bars off a letterboxed one', () => {
    expect(unplainBox(framed(160, 90, [0, 0, 0], 35, 0, 90, 90))).toEqual({ x0: 35, y0: 0, x1: 125, y1: 90 })
    expect(unplainBox(framed(90, 160, [255, 255, 255], 0, 35, 90, 90))).toEqual({ x0: 0, y0: 35, x1: 90, y1: 125 })
  })

  it('peels bars of several colours one after the other: a status bar, then the page', () => {
    const pixels = busy()
    const shot = rgb(60, 120, (x, y) => (y < 10 ? [26, 115, 232] : y >= 110 ? [0, 0, 0] : x >= 5 && x < 55 && y >= 30 && y < 80 ? pixels() : [242, 242, 242]))
    expect(unplainBox(shot)).toEqual({ x0: 5, y0: 30, x1: 55, y1: 80 })
  })

  it('counts colours within the tolerance as plain (a compressed backdrop), and no more', () => {
    const near = framed(40, 40, [100, 100, 100], 10, 10, 20, 20)
    near.data[1] = 100 + PLAIN_TOLERANCE
    expect(unplainBox(near)).toEqual({ x0: 10, y0: 10, x1: 30, y1: 30 })
    near.data[1] = 100 + PLAIN_TOLERANCE + 1
    expect(unplainBox(near).y0).toBe(0)
  })

  it('leaves a photo without margins whole', () => {
    expect(unplainBox(rgb(50, 40, busy()))).toEqual({ x0: 0, y0: 0, x1: 50, y1: 40 })
  })

  it('leaves a near-uniform but textured photo whole (grass, sand, a wall)', () => {
    const textured = rgb(64, 48, () => [120, 140, 90].map((v) => v + Math.round((2 * random() - 1) * 20)))
    expect(unplainBox(textured)).toEqual({ x0: 0, y0: 0, x1: 64, y1: 48 })
  })

  it('peels a transparent surround, which is white once composited', () => {
    const img: Rgba = { width: 30, height: 20, data: new Uint8ClampedArray(30 * 20 * 4) }
    const pixels = busy()
    for (let y = 5; y < 15; y++) for (let x = 12; x < 22; x++) img.data.set([...pixels(), 255], (y * 30 + x) * 4)
    expect(unplainBox(rgbOf(overWhite(img)))).toEqual({ x0: 12, y0: 5, x1: 22, y1: 15 })
  })

  it('does not eat into a smooth gradient a tolerance at a time', () => {
    // a sky darkening by one level a row under a white bar: the bar comes off, the sky loses at most its first tolerance's worth
    const sky = rgb(40, 120, (_, y) => (y < 20 ? [255, 255, 255] : [200 - (y - 20), 210 - (y - 20), 240]))
    const box = unplainBox(sky)
    expect(box.y0).toBeGreaterThanOrEqual(20)
    expect(box.y0).toBeLessThanOrEqual(20 + PLAIN_TOLERANCE + 1)
  })
})

describe('objectCrop', () => {
  it('frames a picture off-centre on a wide plain backdrop, no backdrop left', () => {
    const img = framed(400, 300, [90, 160, 220], 10, 20, 100, 100)
    const out = objectCrop(img, 1, 32)
    expect([out.width, out.height]).toEqual([100, 100])
    expect(Array.from(out.data.subarray(0, 3))).toEqual(Array.from(img.data.subarray((20 * 400 + 10) * 3, (20 * 400 + 10) * 3 + 3)))
  })

  it('widens a box to the model aspect around its centre, moved inside the picture', () => {
    // a 100 x 40 picture on a white sheet, at the top edge: the square crop is 100 px, from the top row
    const out = objectCrop(framed(300, 300, [255, 255, 255], 150, 0, 100, 40), 1, 32)
    expect([out.width, out.height]).toEqual([100, 100])
    expect(Array.from(out.data.subarray(100 * 99 * 3, 100 * 99 * 3 + 3))).toEqual([255, 255, 255])
  })

  it('is the largest centred crop for a picture without plain margins', () => {
    const img = rgb(80, 60, busy())
    expect(objectCrop(img, 1, 32)).toEqual(centreCrop(img, 1))
  })

  it('is the largest centred crop for a picture that is its object already (a 32x32 original)', () => {
    const img = framed(32, 32, [200, 220, 255], 8, 8, 16, 16)
    expect(objectCrop(img, 1, 32)).toEqual(centreCrop(img, 1))
  })

  it('does not blow a speck up: at least a quarter of the centred crop, and never fewer pixels than the model takes', () => {
    expect(objectCrop(framed(1000, 800, [255, 255, 255], 500, 400, 6, 6), 1, 32).width).toBe(200)
    expect(objectCrop(framed(100, 100, [255, 255, 255], 40, 40, 6, 6), 1, 32).width).toBe(32)
  })
})
