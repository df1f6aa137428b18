/**
 * The plan side of a staggered pool (gather.ts): where the conv stage's split
 * fits, the stage after the pool reads one ciphertext per group set, its
 * window sums at the windows' starts; where it does not, the plan keeps the
 * plain layout. Encrypted results: deep-networks.test.ts, stage-share.test.ts.
 */
import { describe, expect, it } from 'vitest'
import type { LayerGeometry } from '../model/manifest'
import { FOUR_LEVELS_8192 } from './params'
import { derivePlan } from './plan'
import type { LinearStagePlan } from './evaluation-plan'

const input = { height: 28, width: 28, channels: 1 as const, mean: [0], std: [1], preprocess: 'ink-on-background' as const }
const fashionLike = (stagger: boolean, packing: 'image' | 'patches' = 'image'): LayerGeometry[] => [
  { type: 'conv2d', kernel: 5, stride: 1, padding: 0, filters: 20, packing },
  { type: 'poly' },
  { type: 'avgpool2d', size: 2, stagger },
  { type: 'dense', units: 80 },
  { type: 'bilinear', units: 10 },
]
const linear = (layers: LayerGeometry[]) =>
  derivePlan({ input, layers, he: FOUR_LEVELS_8192 }).stages.filter((s): s is LinearStagePlan => s.kind === 'linear')

describe('a staggered pool after the first conv', () => {
  it('is summed into one ciphertext: the dense stage reads one instead of four', () => {
    const [conv, dense] = linear(fashionLike(true))
    expect(conv.output.ciphertexts).toBe(4)
    expect(dense.gather?.members).toEqual([[{ ct: 0, rotation: 0 }, { ct: 1, rotation: 1 }, { ct: 2, rotation: 28 }, { ct: 3, rotation: 29 }]])
    expect(dense.input.ciphertexts).toBe(1)
    expect(dense.terms.length).toBe(128)
    // the same conv costs the same products: channel c reads the image copy of its own block
    expect(conv.terms.length).toBe(100)
    const [, plainDense] = linear(fashionLike(false))
    expect(plainDense.gather).toBeUndefined()
    expect(plainDense.input.ciphertexts).toBe(4)
    expect(plainDense.terms.length).toBe(512)
  })

  it('puts each window sum where the members bring exactly its cells, and nothing else lands there', () => {
    const [conv, dense] = linear(fashionLike(true))
    const slots = 4096
    // which activation sits at (ct, slot) after the conv stage
    const at = new Map<number, number>()
    conv.output.ct.forEach((ct, i) => at.set(ct * slots + conv.output.slot[i], i))
    const cellsOf = (e: number) => {
      const c = e % 20
      const pos = (e - c) / 20
      const q = c % 4
      const y0 = (q >> 1) + Math.floor(pos / 12) * 2
      const x0 = (q & 1) + (pos % 12) * 2
      const cells: number[] = []
      for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) if (y0 + dy < 24 && x0 + dx < 24) cells.push(((y0 + dy) * 24 + x0 + dx) * 20 + c)
      return cells
    }
    for (let e = 0; e < dense.input.ct.length; e++) {
      const got = dense.gather!.members[dense.input.ct[e]].map((m) => at.get(m.ct * slots + ((dense.input.slot[e] + m.rotation) % slots))).filter((i) => i !== undefined)
      expect(got.sort((a, b) => a! - b!)).toEqual(cellsOf(e).sort((a, b) => a - b))
    }
  })

  it('keeps the plain layout where the split does not fit (patches: no empty cell past a row; encrypted: deep-networks.test.ts)', () => {
    const [, dense] = linear(fashionLike(true, 'patches'))
    expect(dense.gather).toBeUndefined()
    expect(dense.input.ciphertexts).toBeGreaterThan(1)
  })

  it('leaves the conv as it was where the split does not fit (a 1x1 conv fills whole rows: no cell past the edge is empty)', () => {
    const layers: LayerGeometry[] = [
      { type: 'conv2d', kernel: 1, stride: 1, padding: 0, filters: 8, packing: 'image' },
      { type: 'poly' },
      { type: 'avgpool2d', size: 2, stagger: true },
      { type: 'dense', units: 10 },
    ]
    const [conv, dense] = derivePlan({ input: { ...input, height: 12, width: 12 }, layers, he: FOUR_LEVELS_8192 }).stages.filter((s): s is LinearStagePlan => s.kind === 'linear')
    expect(dense.gather).toBeUndefined()
    // each channel reads its own copy of the image: one tap, one offset, a product per output ciphertext
    expect(conv.terms.length).toBe(conv.output.ciphertexts)
  })

  it('needs no Galois key the plain layout lacks beyond its own dense split', () => {
    const steps = derivePlan({ input, layers: fashionLike(true), he: FOUR_LEVELS_8192 }).rotationSteps
    expect(steps).toContain(1)
    expect(steps).toContain(28)
    expect(steps.length).toBeLessThanOrEqual(6)
  })
})
