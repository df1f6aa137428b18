import { describe, expect, it } from 'vitest'
import { toInk, type Rgba } from './ink'
import { atFrameScale, centreOfMass, FRAME, FRAME_SCALE_SLACK, inkBounds, toMnistFrame } from './mnist-frame'
import { preprocess } from './pipeline'
import { resize } from './resize'

/** A w x h RGBA sheet of one colour with a filled rectangle of another. */
function sheet(w: number, h: number, paper: number[], ink: number[], rect: { x: number; y: number; w: number; h: number }): Rgba {
  const data = new Uint8ClampedArray(w * h * 4)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = x >= rect.x && x < rect.x + rect.w && y >= rect.y && y < rect.y + rect.h
      data.set(inside ? ink : paper, (y * w + x) * 4)
    }
  }
  return { width: w, height: h, data }
}

const frame = (pixels: Uint8Array) => ({ width: FRAME, height: FRAME, data: pixels })

describe('toInk', () => {
  it('keeps white ink on black as it is', () => {
    const ink = toInk(sheet(10, 10, [0, 0, 0, 255], [255, 255, 255, 255], { x: 4, y: 4, w: 2, h: 2 }))
    expect(ink.background).toBe('dark')
    expect(ink.data[0]).toBe(0)
    expect(ink.data[4 * 10 + 4]).toBe(255)
  })

  it('inverts dark ink on white paper', () => {
    const ink = toInk(sheet(10, 10, [255, 255, 255, 255], [0, 0, 0, 255], { x: 4, y: 4, w: 2, h: 2 }))
    expect(ink.background).toBe('light')
    expect(ink.data[0]).toBe(0)
    expect(ink.data[4 * 10 + 4]).toBe(255)
  })

  it('treats tinted paper as background and stretches the ink to full strength', () => {
    const ink = toInk(sheet(10, 10, [240, 220, 170, 255], [60, 60, 90, 255], { x: 4, y: 4, w: 2, h: 2 }))
    expect(ink.background).toBe('light')
    expect(ink.data[0]).toBe(0)
    expect(ink.data[4 * 10 + 4]).toBe(255)
  })

  it('reads opacity as ink on a transparent sheet, whatever the colour', () => {
    for (const colour of [0, 255]) {
      const ink = toInk(sheet(10, 10, [0, 0, 0, 0], [colour, colour, colour, 255], { x: 4, y: 4, w: 2, h: 2 }))
      expect(ink.background).toBe('transparent')
      expect(ink.data[0]).toBe(0)
      expect(ink.data[4 * 10 + 4]).toBe(255)
    }
  })
})

describe('resize', () => {
  it('area-averages when shrinking', () => {
    const src = { width: 2, height: 2, data: Uint8Array.from([0, 255, 255, 0]) }
    expect(Array.from(resize(src, 1, 1).data)).toEqual([128])
  })
  it('keeps a uniform image uniform when enlarging', () => {
    const src = { width: 3, height: 3, data: new Uint8Array(9).fill(200) }
    expect(new Set(resize(src, 7, 5).data)).toEqual(new Set([200]))
  })
})

describe('toMnistFrame', () => {
  it('scales the longest side to 20 px, keeps the aspect and centres by mass', () => {
    // a 40 x 80 bar, off-centre on a 200 x 200 canvas
    const ink = toInk(sheet(200, 200, [255, 255, 255, 255], [0, 0, 0, 255], { x: 10, y: 100, w: 40, h: 80 }))
    const pixels = toMnistFrame(ink)!
    const b = inkBounds(frame(pixels))!
    expect(b.height).toBe(20)
    expect(b.width).toBe(10)
    // where MNIST's digits have theirs: (14, 14), pixel indices from 0
    const com = centreOfMass(frame(pixels))
    expect(Math.abs(com.x - 14)).toBeLessThanOrEqual(0.5)
    expect(Math.abs(com.y - 14)).toBeLessThanOrEqual(0.5)
  })

  it('only moves a 28x28 digit already at the frame scale: no crop of its faint edge, no resampling', () => {
    // a 6 x 20 stroke with a faint rim (below the box threshold), its centre of mass at (12.5, 14.5)
    const data = new Uint8Array(FRAME * FRAME)
    for (let y = 4; y < 26; y++) for (let x = 9; x < 17; x++) data[y * FRAME + x] = x === 9 || x === 16 || y === 4 || y === 25 ? 30 : 255
    const ink = { width: FRAME, height: FRAME, data }
    expect(atFrameScale(ink, inkBounds(ink)!, 20, FRAME, FRAME)).toBe(true)
    const moved = toMnistFrame(ink)!
    const shifted = new Uint8Array(FRAME * FRAME)
    for (let y = 0; y < FRAME; y++) for (let x = 2; x < FRAME; x++) shifted[y * FRAME + x] = data[y * FRAME + x - 2]
    expect(Array.from(moved)).toEqual(Array.from(shifted))
  })

  it('still scales a digit whose box is off the frame scale, or a picture larger than the frame', () => {
    const small = { width: FRAME, height: FRAME, data: new Uint8Array(FRAME * FRAME) }
    for (let y = 10; y < 10 + 20 - FRAME_SCALE_SLACK - 1; y++) small.data[y * FRAME + 12] = 255
    expect(atFrameScale(small, inkBounds(small)!, 20, FRAME, FRAME)).toBe(false)
    expect(inkBounds(frame(toMnistFrame(small)!))!.height).toBe(20)
    const large = { width: 56, height: 56, data: new Uint8Array(56 * 56) }
    for (let y = 10; y < 30; y++) large.data[y * 56 + 12] = 255
    expect(atFrameScale(large, inkBounds(large)!, 20, FRAME, FRAME)).toBe(false)
  })

  it('returns null without ink', () => {
    expect(toMnistFrame({ width: 5, height: 5, data: new Uint8Array(25) })).toBeNull()
  })
})

describe('preprocess', () => {
  it('refuses a blank white page', () => {
    const r = preprocess(sheet(50, 50, [255, 255, 255, 255], [255, 255, 255, 255], { x: 0, y: 0, w: 0, h: 0 }))
    expect(r.ok).toBe(false)
  })

  it('refuses faint noise on paper', () => {
    const img = sheet(50, 50, [250, 250, 250, 255], [240, 240, 240, 255], { x: 20, y: 20, w: 5, h: 5 })
    expect(preprocess(img).ok).toBe(false)
  })

  it('refuses a fully transparent image', () => {
    expect(preprocess(sheet(20, 20, [0, 0, 0, 0], [0, 0, 0, 0], { x: 0, y: 0, w: 0, h: 0 })).ok).toBe(false)
  })

  it('gives the same frame for white-on-black and black-on-white versions of a digit', () => {
    const rect = { x: 30, y: 20, w: 12, h: 50 }
    const a = preprocess(sheet(100, 100, [0, 0, 0, 255], [255, 255, 255, 255], rect))
    const b = preprocess(sheet(100, 100, [255, 255, 255, 255], [0, 0, 0, 255], rect))
    expect(a.ok && b.ok).toBe(true)
    if (a.ok && b.ok) expect(Array.from(a.pixels)).toEqual(Array.from(b.pixels))
  })
})
