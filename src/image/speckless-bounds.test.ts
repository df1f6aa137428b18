import { describe, expect, it } from 'vitest'
import type { Gray } from './ink'
import { speckPixels, specklessBounds } from './speckless-bounds'

function picture(width: number, height: number, marks: [number, number, number, number][]): Gray {
  const data = new Uint8Array(width * height)
  // each mark: x, y, width, height, at ink 200
  for (const [x0, y0, w, h] of marks) for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) data[y * width + x] = 200
  return { width, height, data }
}

describe('specklessBounds', () => {
  it('leaves out single noisy pixels around an object, keeping the object whole', () => {
    const img = picture(300, 300, [[100, 80, 90, 150], [10, 10, 1, 1], [280, 290, 2, 1], [20, 250, 1, 2]])
    expect(specklessBounds(img, 16, speckPixels(300, 28))).toEqual({ x: 100, y: 80, width: 90, height: 150 })
    // every marked pixel counts when specks are not left out
    expect(specklessBounds(img, 16, 1)).toEqual({ x: 10, y: 10, width: 272, height: 281 })
  })

  it("keeps a thin part apart from the object (a strap, a lace) that is as wide as a model pixel", () => {
    // 300 px scaled to 28: a model pixel is about 11 px wide
    const img = picture(300, 300, [[100, 80, 90, 150], [200, 60, 11, 40]])
    expect(specklessBounds(img, 16, speckPixels(300, 28))).toEqual({ x: 100, y: 60, width: 111, height: 170 })
  })

  it('joins pixels that touch at a corner into one group', () => {
    const diagonal: [number, number, number, number][] = Array.from({ length: 40 }, (_, k) => [50 + k, 50 + k, 1, 1])
    expect(specklessBounds(picture(300, 300, diagonal), 16, speckPixels(300, 28))).toEqual({ x: 50, y: 50, width: 40, height: 40 })
  })

  it('finds nothing when only specks stand out', () => {
    expect(specklessBounds(picture(300, 300, [[10, 10, 2, 2], [200, 100, 1, 3]]), 16, speckPixels(300, 28))).toBeNull()
  })

  it('leaves nothing out at the frame size', () => {
    expect(speckPixels(28, 28)).toBe(1)
    expect(specklessBounds(picture(28, 28, [[3, 3, 1, 1], [10, 10, 8, 8]]), 16, speckPixels(28, 28))).toEqual({ x: 3, y: 3, width: 15, height: 15 })
  })
})
