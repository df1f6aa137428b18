import { describe, expect, it } from 'vitest'
import type { LayerGeometry } from '../model/manifest'
import { bsgs, DEFAULT_HE_PARAMS, derivePlan, galoisElement } from './plan'

const input = { height: 28, width: 28, channels: 1 as const, mean: 0.1307, std: 0.3081 }
const model = (kernel: number, stride: number, filters: number, units = 10, he = DEFAULT_HE_PARAMS) => ({
  input,
  he,
  layers: [
    { type: 'conv2d', kernel, stride, padding: 0, filters },
    { type: 'square' },
    { type: 'dense', units },
  ] as LayerGeometry[],
})

describe('derivePlan', () => {
  it('derives the shipped geometry: one input ciphertext, four conv outputs, six rotation keys', () => {
    const plan = derivePlan(model(5, 2, 112))
    expect(plan.input.ciphertexts).toBe(1)
    expect(plan.input.positions).toBe(144)
    expect(plan.depth).toBe(3)
    expect(plan.stages.map((s) => s.kind)).toEqual(['linear', 'square', 'linear'])
    const conv = plan.stages[0]
    expect(conv.kind === 'linear' && conv.output.ciphertexts).toBe(4)
    // conv: P=144 and 13*144 (baby/giant); dense: 1 and 2; fold: 16 and 256
    expect(plan.rotationSteps).toEqual([1, 2, 16, 144, 256, 1872])
    expect(plan.outputSlots).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('derives a different plan for a different geometry, with no code change', () => {
    const plan = derivePlan(model(7, 3, 64))
    expect(plan.input.positions).toBe(64)
    expect(plan.rotationSteps).toContain(64)
    expect(plan.stages[0].kind === 'linear' && plan.stages[0].output.ciphertexts).toBe(1)
  })

  it('places every logical element in a distinct (ciphertext, slot)', () => {
    for (const m of [model(5, 2, 56), model(7, 3, 64), model(4, 2, 30)]) {
      const plan = derivePlan(m)
      for (const stage of plan.stages) {
        if (stage.kind !== 'linear') continue
        for (const layout of [stage.input, stage.output]) {
          const seen = new Set<number>()
          for (let i = 0; i < layout.ct.length; i++) {
            const key = layout.ct[i] * plan.slots + layout.slot[i]
            expect(seen.has(key)).toBe(false)
            seen.add(key)
          }
        }
      }
    }
  })

  it('refuses a network deeper than the modulus chain', () => {
    const deep = model(5, 2, 8)
    deep.layers.push({ type: 'square' }, { type: 'dense', units: 10 })
    expect(() => derivePlan(deep)).toThrow(/levels/)
  })

  it('refuses layouts that do not fit the slots', () => {
    const tiny = { ...DEFAULT_HE_PARAMS, polyModulusDegree: 4096 }
    expect(() => derivePlan({ ...model(3, 1, 4, 10, tiny), input: { ...input, height: 64, width: 64 } })).toThrow(/slots/)
  })
})

describe('bsgs', () => {
  it('pays baby steps per input and giant steps per output ciphertext', () => {
    const range = (n: number) => Array.from({ length: n }, (_, i) => i)
    const single = bsgs(range(52), 1, 1)
    expect(single.n1 * single.giant).toBeGreaterThanOrEqual(52)
    expect(single.babies - 1 + single.giant - 1).toBe(13) // 2*sqrt(52) - 2, the textbook optimum
    expect(bsgs(range(52), 1, 4)).toEqual({ n1: 13, giant: 4, babies: 13 })
    expect(bsgs(range(16), 4, 1)).toEqual({ n1: 2, giant: 8, babies: 2 })
    // 5x5 taps over a 28-wide image: offsets ky*28 + kx split into kx (baby) and ky (giant)
    const taps = range(25).map((t) => Math.floor(t / 5) * 28 + (t % 5))
    expect(bsgs(taps, 1, 8)).toEqual({ n1: 28, giant: 5, babies: 5 })
  })
})

describe('galoisElement', () => {
  it('matches SEAL: left rotation by k is 3^k mod 2N, right rotation by k is 3^(N/2-k)', () => {
    expect(galoisElement(1, 8192)).toBe(3)
    expect(galoisElement(2, 8192)).toBe(9)
    expect(galoisElement(-1, 8192)).toBe(galoisElement(4095, 8192))
    expect(galoisElement(0, 8192)).toBe(16383)
    expect(() => galoisElement(4096, 8192)).toThrow()
  })
})
