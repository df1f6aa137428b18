import { describe, expect, it } from 'vitest'
import type { LayerGeometry } from '../model/manifest'
import { derivePlan } from './plan'
import { DEFAULT_HE_PARAMS } from './params'

const input = { height: 28, width: 28, channels: 1 as const, mean: [0.1307], std: [0.3081], preprocess: 'ink-on-background' as const }
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
  it('derives a stride-2 patches geometry: one input ciphertext, four conv outputs, five rotation keys', () => {
    const plan = derivePlan(model(5, 2, 112))
    expect(plan.input.ciphertexts).toBe(1)
    expect(plan.input.positions).toBe(144)
    expect(plan.depth).toBe(3)
    expect(plan.stages.map((s) => s.kind)).toEqual(['linear', 'square', 'linear'])
    const conv = plan.stages[0]
    expect(conv.kind === 'linear' && conv.output.ciphertexts).toBe(4)
    // conv: P=144 and 7*144 (baby/giant); dense: giant step 1; fold: 16 and 256
    expect(plan.rotationSteps).toEqual([1, 16, 144, 256, 1008])
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
