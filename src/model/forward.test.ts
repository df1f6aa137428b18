/** The reference forward pass's staggered pool (docs/model-format.md), on values worked out by hand. */
import { describe, expect, it } from 'vitest'
import { forward } from './forward'
import type { ModelManifest, Weights } from './manifest'

describe('a staggered avgpool2d', () => {
  it("starts channel c's windows c mod 4 cells in and reads zeros past the bottom and right edges", () => {
    // 4x4 pixels p(y, x) = 4y + x; a 1x1 conv makes channel c = (c + 1) * p; the dense layer passes the pool through
    const manifest = {
      input: { height: 4, width: 4, channels: 1, mean: [0], std: [1], preprocess: 'photo' },
      layers: [
        { type: 'conv2d', kernel: 1, stride: 1, padding: 0, filters: 5, weights: 'c.w', bias: 'c.b' },
        { type: 'avgpool2d', size: 2, stagger: true },
        { type: 'dense', units: 20, weights: 'd.w', bias: 'd.b' },
      ],
    } as unknown as ModelManifest
    const weights: Weights = new Map([
      ['c.w', Float32Array.from([1, 2, 3, 4, 5])],
      ['c.b', new Float32Array(5)],
      ['d.w', Float32Array.from({ length: 400 }, (_, i) => (Math.floor(i / 20) === i % 20 ? 1 : 0))],
      ['d.b', new Float32Array(20)],
    ])
    const y = forward(manifest, weights, Float64Array.from({ length: 16 }, (_, i) => i))
    const pooled = (i: number, j: number, c: number) => y[(i * 2 + j) * 5 + c]
    expect(pooled(0, 0, 0)).toBe((0 + 1 + 4 + 5) / 4) // channel 0: windows at (0, 0), as a plain pool
    expect(pooled(0, 1, 1)).toBe((2 * (3 + 7)) / 4) // channel 1 starts at (0, 1): its second window is column 3 and a zero column
    expect(pooled(1, 0, 2)).toBe((3 * (12 + 13)) / 4) // channel 2 starts at (1, 0): its second row of windows is row 3 and a zero row
    expect(pooled(1, 1, 3)).toBe((4 * 15) / 4) // channel 3 starts at (1, 1): one cell of its last window is inside
    expect(pooled(0, 0, 3)).toBe((4 * (5 + 6 + 9 + 10)) / 4)
    expect(pooled(1, 0, 4)).toBe((5 * (8 + 9 + 12 + 13)) / 4) // channel 4: q = 0 again
  })
})
