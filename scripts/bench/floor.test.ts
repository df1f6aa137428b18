import { describe, expect, it } from 'vitest'
import { randomModel } from '../../src/he/random-model'
import { derivePlan } from '../../src/he/plan'
import { floorMs, planOpCounts } from '../../src/he/op-counts'
import { medianPrices, planFloor } from './floor'
import type { LevelPrices } from './unit-prices'

const prices = (k: number): LevelPrices[] =>
  [0, 1, 2, 3].map((level) => ({ level, primes: 4 - level, rotate: 3 * k, plainProduct: 0.3 * k, square: 0.5 * k, product: 0.7 * k, relinearise: 3 * k, rescale: 0.8 * k, add: 0.05 * k, addPlain: 0.03 * k }))

describe('planFloor', () => {
  const plan = derivePlan(randomModel().manifest)
  const names = plan.stages.map((s) => s.kind)

  it("divides each image's stage times by the floor at the prices sampled beside it", () => {
    const counts = planOpCounts(plan)
    // the machine twice as slow for the second image, and three times for the third: every image takes 1.5x its floor
    const samples = [1, 2, 3].map((k) => ({ prices: prices(k), stageMs: counts.map((c) => 1.5 * floorMs(c, prices(k))) }))
    const f = planFloor(plan, names, samples, 5)
    expect(f.samples).toBe(3)
    expect(f.repeat).toBe(5)
    expect(f.stages.map((s) => s.stage)).toEqual(names)
    for (const s of f.stages) {
      expect(s.ratio).toBeCloseTo(1.5, 9)
      expect(s.floorMs).toBeCloseTo(floorMs(s.counts, prices(2)), 9)
    }
    expect(f.total.ratio).toBeCloseTo(1.5, 9)
    expect(f.prices[0].rotate).toBe(6)
  })

  it('takes per operation and level the median of the samples', () => {
    expect(medianPrices([prices(1), prices(5), prices(2)])[3]).toMatchObject({ level: 3, primes: 1, rotate: 6, add: 0.1 })
  })
})
