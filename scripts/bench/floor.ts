/**
 * The cost floor of a bench run: each stage's operation counts from the plan
 * (src/he/op-counts.ts) priced at unit prices sampled on the machine beside
 * each image (unit-prices.ts), next to the stage's measured time. Each image's
 * time is divided by the floor at the prices sampled just before it, so that a
 * load that comes and goes on a shared machine moves both sides alike; the
 * result holds the medians over the images. A ratio near one leaves nothing
 * but fewer or cheaper operations to gain; the rest of a larger one is copies,
 * allocations, memory traffic and the host's overheads.
 */
import type { EvaluationPlan } from '../../src/he/evaluation-plan'
import { floorMs, planOpCounts, totals, type OpCounts, type OpKind, type UnitPrices } from '../../src/he/op-counts'
import type { LevelPrices } from './unit-prices'

export interface StageFloor {
  stage: string
  /** operations by kind and level (key: level, 0 = top of the chain) */
  counts: OpCounts
  /** the same summed over levels */
  totals: Record<OpKind, number>
  /** median over the images of the floor at the prices sampled beside each */
  floorMs: number
  /** median measured time of the stage */
  measuredMs: number
  /** median over the images of measured / floor */
  ratio: number
}

export interface FloorResult {
  /** unit prices, ms, per level: per operation the median of the samples */
  prices: LevelPrices[]
  /** price samples taken (one per image), and calls timed per sample and operation */
  samples: number
  repeat: number
  stages: StageFloor[]
  /** the stages summed, per image, then the median (request loading and response packing are outside every stage) */
  total: { floorMs: number; measuredMs: number; ratio: number }
}

/** One image: the prices sampled just before it and its time per stage. */
export interface FloorSample {
  prices: LevelPrices[]
  stageMs: number[]
}

const PRICE_KEYS = ['rotate', 'plainProduct', 'square', 'product', 'relinearise', 'rescale', 'add', 'addPlain'] as const satisfies ReadonlyArray<keyof UnitPrices>

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

/** Per level and operation, the median of several samples of the same levels. */
export function medianPrices(samples: LevelPrices[][]): LevelPrices[] {
  return samples[0].map((first, i) => {
    const row: LevelPrices = { ...first }
    for (const k of PRICE_KEYS) row[k] = median(samples.map((s) => s[i][k]))
    return row
  })
}

export function planFloor(plan: EvaluationPlan, names: string[], samples: FloorSample[], repeat: number): FloorResult {
  const counts = planOpCounts(plan)
  const floors = samples.map((x) => counts.map((c) => floorMs(c, x.prices)))
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  const stages = counts.map((c, s): StageFloor => ({
    stage: names[s],
    counts: c,
    totals: totals(c),
    floorMs: median(floors.map((f) => f[s])),
    measuredMs: median(samples.map((x) => x.stageMs[s])),
    ratio: median(samples.map((x, i) => x.stageMs[s] / floors[i][s])),
  }))
  return {
    prices: medianPrices(samples.map((x) => x.prices)),
    samples: samples.length,
    repeat,
    stages,
    total: {
      floorMs: median(floors.map(sum)),
      measuredMs: median(samples.map((x) => sum(x.stageMs))),
      ratio: median(samples.map((x, i) => sum(x.stageMs) / sum(floors[i]))),
    },
  }
}
