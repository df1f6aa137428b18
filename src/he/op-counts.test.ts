import SEAL from 'node-seal'
import { describe, expect, it } from 'vitest'
import { loadModels } from '../datasets/model-files'
import { imageAt, loadSplit } from '../datasets'
import type { LayerGeometry, ModelManifest, Weights } from '../model/manifest'
import { normalise } from '../model/forward'
import { ModelEvaluator } from './evaluator'
import { KeyOwner } from './key-owner'
import { emptyCounts, floorMs, planOpCounts, totals, type OpCounts, type UnitPrices } from './op-counts'
import { DEFAULT_HE_PARAMS } from './params'
import { derivePlan } from './plan'
import { publicModel } from './public-model'
import { randomModel, SMALL_DEEP_NET } from './random-model'
import { countingSeal } from './test-support/counting-seal'

/** 4x4 grey image, 2x2 conv with stride 2 and two filters, square, dense to three units. */
const TINY = {
  input: { height: 4, width: 4, channels: 1 as const },
  layers: [
    { type: 'conv2d', kernel: 2, stride: 2, padding: 0, filters: 2, packing: 'patches' },
    { type: 'square' },
    { type: 'dense', units: 3 },
  ] as LayerGeometry[],
  he: DEFAULT_HE_PARAMS,
}

const counts = (c: Partial<OpCounts>): OpCounts => ({ ...emptyCounts(), ...c })

describe('planOpCounts', () => {
  it('counts a small network by hand', () => {
    const plan = derivePlan(randomModel(TINY).manifest)
    // what the counts below rest on
    expect(plan.slots).toBe(4096)
    expect(plan.stages.map((s) => s.kind)).toEqual(['linear', 'square', 'linear'])
    expect(plan.input.ciphertexts).toBe(1)
    const [conv, , dense] = plan.stages
    if (conv.kind !== 'linear' || dense.kind !== 'linear') throw new Error('unexpected plan')
    expect(conv.output.ciphertexts).toBe(1)
    expect([conv.n1, conv.giant, conv.terms.length]).toEqual([1, 5, 5])
    expect([dense.n1, dense.giant, dense.terms.length]).toEqual([1, 4, 4])
    expect(dense.fold).toEqual({ period: 4, levels: [{ step: 4, count: 15 }, { step: 64, count: 63 }] })

    expect(planOpCounts(plan)).toEqual([
      // conv at level 0: the four taps of each position are four slots apart, the two filters' outputs
      // four slots apart too, so tap t of filter f is one of five offsets 4 * (t + 1 - f); with no baby
      // steps (n1 = 1) they are five giant steps: 5 products, 4 Horner rotations, 4 additions, one
      // rescale; the bias is added after the rescale, at level 1
      counts({ rotations: { 0: 4 }, plainProducts: { 0: 5 }, additions: { 0: 4 }, rescales: { 0: 1 }, plainAdditions: { 1: 1 } }),
      // square at level 1: its one ciphertext squared, relinearised, rescaled
      counts({ squares: { 1: 1 }, relinearisations: { 1: 1 }, rescales: { 1: 1 } }),
      // dense at level 2, hybrid with period 4: four diagonals (input slot minus output slot mod 4), as
      // four giant steps: 4 products, 3 rotations, 3 additions, one rescale; then at level 3 the fold
      // sums the 4096 / 4 = 1024 copies as 16 x 64 (15 + 63 rotations and additions) and adds the bias
      counts({
        rotations: { 2: 3, 3: 15 + 63 },
        plainProducts: { 2: 4 },
        additions: { 2: 3, 3: 15 + 63 },
        rescales: { 2: 1 },
        plainAdditions: { 3: 1 },
      }),
    ])
  })

  it('prices counts per level', () => {
    const price = (level: number, rotate: number): UnitPrices => ({ level, rotate, plainProduct: 0.5, square: 2, product: 3, relinearise: 4, rescale: 1, add: 0.1, addPlain: 0.05 })
    const c = counts({ rotations: { 0: 2, 1: 3 }, plainProducts: { 0: 4 }, rescales: { 0: 1 }, additions: { 1: 10 } })
    expect(floorMs(c, [price(0, 10), price(1, 5)])).toBeCloseTo(2 * 10 + 3 * 5 + 4 * 0.5 + 1 + 10 * 0.1, 9)
    expect(() => floorMs(c, [price(0, 10)])).toThrow(/level 1/)
    expect(totals(c)).toMatchObject({ rotations: 5, plainProducts: 4, rescales: 1, additions: 10, squares: 0 })
  })
})

const shipped = loadModels()

/** One image through a ModelEvaluator whose SEAL evaluator counts its calls, stage by stage. */
async function countedStages(manifest: ModelManifest, weights: Weights, image: ArrayLike<number>) {
  const plan = derivePlan(manifest)
  const owner = await KeyOwner.create(publicModel(manifest), await SEAL())
  const top = manifest.he.coeffModulusBits.length - 1
  const { seal, tally } = countingSeal(await SEAL(), top)
  const evaluator = await ModelEvaluator.create(manifest, weights, seal)
  const keys = evaluator.loadKeys(owner.evaluationKeys.slice())
  try {
    const request = owner.encrypt(image)
    tally.take() // encoding the weights and loading the keys are not an image's work
    const stages: OpCounts[] = []
    const onStage = (done: number) => {
      const { counts, other } = tally.take()
      expect(other, `stage ${done - 1}`).toEqual([])
      stages[done - 1] = counts
    }
    evaluator.classify(keys, request, { onStage })
    // after the last stage only the response is packed: down to the last level, out of NTT form
    expect(tally.take()).toEqual({ counts: emptyCounts(), other: ['cipherModSwitchTo', 'cipherTransformFromNttInplace'].flatMap((m) => Array(plan.outputCiphertexts).fill(m)) })
    return { plan, stages }
  } finally {
    keys.dispose()
    evaluator.dispose()
    owner.dispose()
  }
}

describe('planOpCounts against the evaluator (real SEAL, counted calls)', () => {
  it('the small network', async () => {
    const { manifest, weights } = randomModel(TINY)
    const { plan, stages } = await countedStages(manifest, weights, Array.from({ length: 16 }, (_, i) => i / 16 - 0.5))
    expect(stages).toEqual(planOpCounts(plan))
  })

  it('a deeper network with poly activations, a pool and two conv output ciphertexts', async () => {
    const { manifest, weights } = randomModel(SMALL_DEEP_NET)
    const { plan, stages } = await countedStages(manifest, weights, Array.from({ length: 16 * 16 * 3 }, (_, i) => Math.sin(i)))
    expect(stages).toEqual(planOpCounts(plan))
  }, 300_000)

  it('a depthwise layer with stride 2 (channels kept in place) and a pointwise layer', async () => {
    const layers: LayerGeometry[] = [
      { type: 'conv2d', kernel: 1, stride: 1, padding: 0, filters: 4, packing: 'image' },
      { type: 'square' },
      { type: 'conv2d', kernel: 3, stride: 2, padding: 1, filters: 4, groups: 4 },
      { type: 'square' },
      { type: 'conv2d', kernel: 1, stride: 1, padding: 0, filters: 6 },
      { type: 'dense', units: 3 },
    ]
    const he = { ...DEFAULT_HE_PARAMS, polyModulusDegree: 16384, coeffModulusBits: [60, 40, 40, 40, 40, 40, 60], scaleBits: 40 }
    const { manifest, weights } = randomModel({ input: { height: 10, width: 10, channels: 1 }, layers, he })
    const { plan, stages } = await countedStages(manifest, weights, Array.from({ length: 100 }, (_, i) => Math.cos(i)))
    expect(stages).toEqual(planOpCounts(plan))
  }, 300_000)

  for (const name of ['mnist-cnn', 'fashion-cnn']) {
    it(`shipped ${name}`, async () => {
      const { manifest, weights } = (await shipped).get(name)!
      const test = loadSplit(manifest.dataset!, 'test')
      const { plan, stages } = await countedStages(manifest, weights, normalise(imageAt(test, 0), manifest))
      expect(stages).toEqual(planOpCounts(plan))
    }, 300_000)
  }
})
