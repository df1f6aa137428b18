import { describe, expect, it } from 'vitest'
import type { InputSpec } from '../model/manifest'
import type { Rgba } from './ink'
import { inkBounds } from './mnist-frame'
import { BLANK_OBJECT_MESSAGE, preprocess, preprocessFor } from './pipeline'
import { sharpen, SHARPEN_KERNEL } from './sharpen'

const FASHION: InputSpec = { height: 28, width: 28, channels: 1, mean: [0.286], std: [0.353], preprocess: 'ink-on-background', frame: { fit: 28, centre: 'box' } }

/**
 * A "product shot": on a white 300x400 sheet, off-centre, a garment 120 wide
 * and 200 tall whose left third is near black and the rest mid grey (so its
 * centre of mass is well left of its box's centre), or the same garment on a
 * transparent sheet.
 */
function garment(sheet: number[]): Rgba {
  const data = new Uint8ClampedArray(300 * 400 * 4)
  for (let y = 0; y < 400; y++) {
    for (let x = 0; x < 300; x++) {
      const inside = x >= 40 && x < 160 && y >= 150 && y < 350
      data.set(inside ? (x < 80 ? [20, 20, 30, 255] : [150, 140, 130, 255]) : sheet, (y * 300 + x) * 4)
    }
  }
  return { width: 300, height: 400, data }
}

function frame(input: InputSpec, img: Rgba): Uint8Array {
  const r = preprocessFor(input, img)
  if (!r.ok) throw new Error(r.reason)
  return r.pixels
}

describe('Fashion-MNIST rule (frame { fit: 28, centre: box })', () => {
  it('turns a dark garment on white into a bright garment on black, longest edge 28, box centred', () => {
    const px = frame(FASHION, garment([255, 255, 255, 255]))
    const b = inkBounds({ width: 28, height: 28, data: px }, 1)!
    expect(b.height).toBe(28)
    expect(b.width).toBe(17) // 120 * 28 / 200 = 16.8
    expect(b.x).toBe(Math.ceil((28 - 17) / 2))
    expect(px[0]).toBe(0)
    expect(px[14 * 28 + b.x + 2]).toBe(255) // the near-black third is the brightest ink
    expect(px[14 * 28 + b.x + 12]).toBeGreaterThan(60)
    expect(px[14 * 28 + b.x + 12]).toBeLessThan(170)
  })

  it('keeps a transparent cut-out shaded (read as on white), unlike the digit rule that reads opacity', () => {
    const onWhite = frame(FASHION, garment([255, 255, 255, 255]))
    expect(Array.from(frame(FASHION, garment([0, 0, 0, 0])))).toEqual(Array.from(onWhite))
  })

  it('differs from the digit rule, which is what an input without frame gets', () => {
    const img = garment([255, 255, 255, 255])
    const { frame: _f, ...digitInput } = FASHION
    const digit = preprocessFor(digitInput, img)
    expect(digit).toEqual(preprocess(img))
    expect(inkBounds({ width: 28, height: 28, data: (digit as { pixels: Uint8Array }).pixels }, 1)!.height).toBe(20)
  })

  it('refuses a blank sheet, saying nothing was sent', () => {
    expect(preprocessFor(FASHION, { width: 50, height: 50, data: new Uint8ClampedArray(50 * 50 * 4).fill(250) })).toEqual({ ok: false, reason: BLANK_OBJECT_MESSAGE })
  })
})

describe('a garment already in the Fashion-MNIST frame', () => {
  /** bright on black as the data set stores it: 28 tall, 14 wide, 3 px left of centre, with a faint rim below the trim */
  function stored(): Uint8Array {
    const px = new Uint8Array(28 * 28)
    for (let y = 0; y < 28; y++) for (let x = 4; x < 18; x++) px[y * 28 + x] = x === 4 || x === 17 ? 6 : 60 + ((x * 7 + y * 3) % 150)
    px[14 * 28 + 10] = 255
    return px
  }
  /** the stored image as an opaque grey picture, each pixel repeated `scale` times each way */
  const asFile = (g: Uint8Array, scale = 1): Rgba => {
    const side = 28 * scale
    const data = new Uint8ClampedArray(side * side * 4)
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const v = g[Math.floor(y / scale) * 28 + Math.floor(x / scale)]
        data.set([v, v, v, 255], (y * side + x) * 4)
      }
    }
    return { width: side, height: side, data }
  }

  it('is only moved to centre its box: not cropped, scaled or sharpened a second time', () => {
    const g = stored()
    const out = frame(FASHION, asFile(g))
    // the trimmed box is columns 5..16 (12 wide): centred at ceil((28 - 12) / 2) = 8, a move of 3
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) expect(out[y * 28 + x]).toBe(x >= 3 ? g[y * 28 + x - 3] : 0)
  })

  it('is scaled back and sharpened as any other garment once it has been enlarged', () => {
    const g = stored()
    const out = frame(FASHION, asFile(g, 2))
    const moved = frame(FASHION, asFile(g))
    // the same box in the same place (the faint rim is trimmed), other values: sharpened
    expect(inkBounds({ width: 28, height: 28, data: out }, 1)).toEqual({ x: 8, y: 0, width: 12, height: 28 })
    expect(inkBounds({ width: 28, height: 28, data: moved }, 7)).toEqual({ x: 8, y: 0, width: 12, height: 28 })
    expect(out.filter((v, k) => v !== moved[k]).length).toBeGreaterThan(100)
  })
})

describe('sharpen (ImageMagick -sharpen 1x1)', () => {
  it('has a kernel that sums to 1 with a raised centre, so flat areas keep their value', () => {
    expect(SHARPEN_KERNEL.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
    expect(SHARPEN_KERNEL[4]).toBeCloseTo(1.661, 3)
    const flat = { width: 5, height: 4, data: new Uint8Array(20).fill(90) }
    expect(new Set(sharpen(flat).data)).toEqual(new Set([90]))
  })

  it('steepens an edge', () => {
    const edge = { width: 4, height: 1, data: Uint8Array.from([100, 100, 200, 200]) }
    const out = sharpen(edge).data
    expect(out[1]).toBeLessThan(100)
    expect(out[2]).toBeGreaterThan(200)
  })
})
