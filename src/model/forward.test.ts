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

describe('a grouped conv2d', () => {
  // 3x3 pixels, 4 channels; channel c of pixel p = (c + 1) * 10 + p
  const input = { height: 3, width: 3, channels: 4, mean: [0, 0, 0, 0], std: [1, 1, 1, 1], preprocess: 'photo' }
  const x = Float64Array.from({ length: 36 }, (_, i) => (i % 4) * 10 + 10 + Math.floor(i / 4))
  const identity = (n: number) => Float32Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) === i % n ? 1 : 0))
  const model = (conv: Record<string, unknown>, outputs: number) =>
    ({
      input,
      layers: [
        { type: 'conv2d', stride: 1, weights: 'c.w', bias: 'c.b', ...conv },
        { type: 'dense', units: outputs, weights: 'd.w', bias: 'd.b' },
      ],
    }) as unknown as ModelManifest

  it('depthwise: filter c reads channel c only, row (ky * k + kx) of its [k*k, filters] tensor', () => {
    // 2x2 kernel, no padding: filter c weighs its four taps 1, 2, 3, 4 times (c + 1)
    const kw = Float32Array.from({ length: 16 }, (_, i) => (Math.floor(i / 4) + 1) * ((i % 4) + 1))
    const weights: Weights = new Map([
      ['c.w', kw],
      ['c.b', Float32Array.from([0, 0, 0, 100])],
      ['d.w', identity(16)],
      ['d.b', new Float32Array(16)],
    ])
    const y = forward(model({ kernel: 2, padding: 0, filters: 4, groups: 4 }, 16), weights, x)
    // output (0, 0) of channel c: taps at pixels 0, 1, 3, 4
    const at = (c: number, p: number) => (c + 1) * 10 + p
    for (let c = 0; c < 4; c++) {
      const expected = (c + 1) * (1 * at(c, 0) + 2 * at(c, 1) + 3 * at(c, 3) + 4 * at(c, 4)) + (c === 3 ? 100 : 0)
      expect(y[c]).toBe(expected)
    }
  })

  it('with groups = 2 equals a full conv whose weights are zero across groups', () => {
    let state = 5
    const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1
    const [k, C, F, groups] = [3, 4, 6, 2]
    const grouped = Float32Array.from({ length: k * k * (C / groups) * F }, random)
    const full = new Float32Array(k * k * C * F)
    for (let t = 0; t < k * k; t++)
      for (let f = 0; f < F; f++) {
        const g = Math.floor(f / (F / groups))
        for (let ci = 0; ci < C / groups; ci++) full[(t * C + g * (C / groups) + ci) * F + f] = grouped[(t * (C / groups) + ci) * F + f]
      }
    const bias = Float32Array.from({ length: F }, random)
    const dense = (w: Float32Array) => new Map([['c.w', w], ['c.b', bias], ['d.w', identity(9 * F)], ['d.b', new Float32Array(9 * F)]])
    const conv = { kernel: k, padding: 1, filters: F }
    const a = forward(model({ ...conv, groups }, 9 * F), dense(grouped), x)
    const b = forward(model(conv, 9 * F), dense(full), x)
    expect(Array.from(a)).toEqual(Array.from(b))
  })

  it.each([
    [{ groups: 3 }, /groups 3 must divide its 4 input channels and 4 filters/],
    [{ groups: 0 }, /groups must be a positive integer/],
    [{ groups: 2, filters: 3 }, /groups 2 must divide/],
  ])('refuses %j', (conv, message) => {
    const weights: Weights = new Map()
    expect(() => forward(model({ kernel: 1, padding: 0, filters: 4, ...conv }, 10), weights, x)).toThrow(message)
  })
})
