import { describe, expect, it } from 'vitest'
import type { LayerGeometry } from '../model/manifest'
import { babyChain, bsgs, chainSteps, DEFAULT_HE_PARAMS, derivePlan, galoisElement } from './plan'

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

describe('bsgs', () => {
  it('pays baby steps per input and giant steps per output ciphertext', () => {
    const range = (n: number) => Array.from({ length: n }, (_, i) => i)
    const single = bsgs(range(52), 1, 1)
    const size = (r: ReturnType<typeof bsgs>) => ({ n1: r.n1, giant: r.giant, babies: r.babies.j.length })
    expect(single.n1 * single.giant).toBeGreaterThanOrEqual(52)
    expect(single.babies.j.length - 1 + single.giant - 1).toBe(13) // 2*sqrt(52) - 2, the textbook optimum
    expect(size(bsgs(range(52), 1, 4))).toEqual({ n1: 13, giant: 4, babies: 13 })
    // a key costs KEY_COST rotations: 16 offsets for 4 inputs and 1 output go all to giant steps
    expect(size(bsgs(range(16), 4, 1))).toEqual({ n1: 1, giant: 16, babies: 1 })
    // 5x5 taps over a 28-wide image, 8 outputs: all 25 offsets as babies, made with keys 1 and 28, no giant step
    const taps = range(25).map((t) => Math.floor(t / 5) * 28 + (t % 5))
    const conv = bsgs(taps, 1, 8)
    expect(size(conv)).toMatchObject({ giant: 1, babies: 25 })
    expect(chainSteps(conv.babies).sort((a, b) => a - b)).toEqual([1, 28])
  })
})

describe('babyChain', () => {
  it('reaches every offset, each node one keyed rotation from an earlier one', () => {
    const needed = [3, 5, 17, 18, 19, 40, 41, 64]
    const chain = babyChain(needed)
    for (const j of needed) expect(chain.j).toContain(j)
    const steps = chainSteps(chain)
    expect(steps.length).toBeLessThanOrEqual(2)
    chain.from.forEach((f, i) => {
      if (i === 0) return expect(f).toBe(-1)
      expect(f).toBeLessThan(i)
      expect(steps).toContain(chain.j[i] - chain.j[f])
    })
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
