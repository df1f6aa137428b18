import { describe, expect, it } from 'vitest'
import type { Gray } from './ink'
import { straighten, STRAIGHTEN_MIN_DEGREES } from './straighten'

const W = 200
const H = 160
const rad = (degrees: number) => (degrees * Math.PI) / 180

/** A 100 x 4 bar centred on (100, 80), turned by `degrees` (x right, y down), as ink 255 on 0. */
function bar(degrees: number): Gray {
  const [cos, sin] = [Math.cos(rad(degrees)), Math.sin(rad(degrees))]
  const data = new Uint8Array(W * H)
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const [dx, dy] = [x + 0.5 - 100, y + 0.5 - 80]
      const [u, v] = [dx * cos + dy * sin, -dx * sin + dy * cos]
      if (Math.abs(u) <= 50 && Math.abs(v) <= 2) data[y * W + x] = 255
    }
  }
  return { width: W, height: H, data }
}

/** The rows and columns holding ink of at least half strength. */
function extent(g: Gray): { rows: number; columns: number } {
  const rows = new Set<number>()
  const columns = new Set<number>()
  for (let i = 0; i < g.data.length; i++) if (g.data[i] >= 128) (rows.add(Math.floor(i / g.width)), columns.add(i % g.width))
  return { rows: rows.size, columns: columns.size }
}

/** the whole picture is the sheet: its centroid is the picture's centre */
const wholeSheet = new Uint8Array(W * H).fill(1)

describe('straighten', () => {
  for (const degrees of [-8, 6, 20]) {
    it(`turns a drawing on a sheet turned by ${degrees} degrees back upright`, () => {
      const turned = bar(degrees)
      expect(extent(turned).rows).toBeGreaterThan(12)
      const upright = straighten(turned, wholeSheet, rad(degrees))
      const { rows, columns } = extent(upright)
      expect(rows).toBeLessThanOrEqual(6)
      expect(columns).toBeGreaterThanOrEqual(98)
    })
  }

  it('turns about the centre of the sheet, not of the picture', () => {
    // a sheet on the right half: its centroid is (150, 80), so the bar at the picture's centre moves
    const right = new Uint8Array(W * H).map((_, i) => (i % W >= 100 ? 1 : 0))
    const upright = straighten(bar(10), right, rad(10))
    const centred = straighten(bar(10), wholeSheet, rad(10))
    expect(Array.from(upright.data)).not.toEqual(Array.from(centred.data))
    expect(extent(upright).rows).toBeLessThanOrEqual(6)
  })

  it(`leaves a sheet turned by less than ${STRAIGHTEN_MIN_DEGREES} degree as it is`, () => {
    const ink = bar(0.5)
    expect(straighten(ink, wholeSheet, rad(0.5))).toBe(ink)
    expect(straighten(ink, wholeSheet, 0)).toBe(ink)
  })
})
