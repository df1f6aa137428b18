/**
 * The bilinear read-out (manifest layer `bilinear`): logit i = sum over k of
 * x[i + units*k] * x[h + i + units*k] after a dense layer. Encrypted against
 * the plaintext reference (src/model/forward.ts) with random weights, the
 * response holding nothing but logits, and the shapes the plan refuses.
 */
import SEAL from 'node-seal'
import { beforeAll, describe, expect, it } from 'vitest'
import { forward } from '../model/forward'
import { layerShapes } from '../model/geometry'
import type { HeParams, LayerGeometry, ModelManifest, Weights } from '../model/manifest'
import { publicModel } from './public-model'
import { randomModel } from './random-model'
import type { Seal } from './context'
import { ModelEvaluator } from './evaluator'
import { KeyOwner } from './key-owner'
import { FOUR_LEVELS_8192, heParamsForNetwork } from './params'
import { derivePlan } from './plan'
import { alignPath } from './rotation-search'
import { stageNames } from './stage-names'

/** |encrypted - plaintext| / max(1, max |plaintext logit|) */
const RELATIVE_TOLERANCE = 1e-3

const he = (N: number, bits: number[], scaleBits: number): HeParams => ({ scheme: 'ckks', polyModulusDegree: N, coeffModulusBits: bits, scaleBits, securityLevel: 'tc128' })

/** 5 logits from K = 3 products each: neither a power of two, so the layout pads both */
const SMALL: LayerGeometry[] = [
  { type: 'conv2d', kernel: 3, stride: 1, padding: 0, filters: 4, packing: 'image' },
  { type: 'poly' },
  { type: 'avgpool2d', size: 2 },
  { type: 'dense', units: 30 },
  { type: 'bilinear', units: 5 },
]
/** Fashion-MNIST's shape: conv 5x5 (40) -> poly -> pool -> dense 2 x 10 x 4 -> bilinear */
const FASHION_SHAPED: LayerGeometry[] = [
  { type: 'conv2d', kernel: 5, stride: 1, padding: 0, filters: 40, packing: 'image' },
  { type: 'poly' },
  { type: 'avgpool2d', size: 2 },
  { type: 'dense', units: 80 },
  { type: 'bilinear', units: 10 },
]

let clientSeal: Seal
let serverSeal: Seal
beforeAll(async () => {
  clientSeal = await SEAL()
  serverSeal = await SEAL()
})

function inputs(m: ModelManifest, count: number, seed: number): Float64Array[] {
  let state = seed
  const size = m.input.height * m.input.width * m.input.channels
  return Array.from({ length: count }, () => Float64Array.from({ length: size }, () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1))
}

async function withModel(m: { manifest: ModelManifest; weights: Weights }, run: (owner: KeyOwner, classify: (x: Float64Array) => Uint8Array) => void) {
  const owner = await KeyOwner.create(publicModel(m.manifest), clientSeal)
  const evaluator = await ModelEvaluator.create(m.manifest, m.weights, serverSeal)
  const keys = evaluator.loadKeys(owner.evaluationKeys.slice())
  try {
    run(owner, (x) => evaluator.classify(keys, owner.encrypt(x)))
  } finally {
    keys.dispose()
    evaluator.dispose()
    owner.dispose()
  }
}

describe('bilinear read-out', () => {
  it('the reference: logit i sums x[i + units*k] * x[half + i + units*k]', () => {
    const m = randomModel({ input: { height: 12, width: 12, channels: 1 }, layers: SMALL, he: he(16384, [60, 40, 40, 40, 40, 60], 40) })
    const last = { ...m.manifest, layers: [{ type: 'bilinear' as const, units: 2 }], input: { ...m.manifest.input, height: 1, width: 8 } }
    // (1*5 + 3*7, 2*6 + 4*8)
    expect(Array.from(forward(last as ModelManifest, m.weights, [1, 2, 3, 4, 5, 6, 7, 8]))).toEqual([26, 44])
  })

  it('matches the plaintext reference at N = 16384, one level for the product, every other slot zero', async () => {
    const m = randomModel({ input: { height: 12, width: 12, channels: 1 }, layers: SMALL, he: he(16384, [60, 40, 40, 40, 40, 60], 40), seed: 3 })
    const plan = derivePlan(m.manifest)
    expect(plan.depth).toBe(4)
    expect(plan.stages.map((s) => s.kind)).toEqual(['linear', 'square', 'linear', 'product'])
    expect(stageNames(m.manifest.layers, plan)).toEqual(['conv1', 'poly1', 'pool1+dense1', 'bilinear1'])
    expect(plan.outputSlots).toEqual([0, 1, 2, 3, 4])
    await withModel(m, (owner, classify) => {
      let worst = 0
      for (const x of inputs(m.manifest, 3, 5)) {
        const expected = forward(m.manifest, m.weights, x)
        const slots = owner.decryptSlots(classify(x))
        const scale = Math.max(1, ...Array.from(expected, Math.abs))
        // logits repeat every 8 slots (5 rounded up); slots 5-7 of each period hold zero, not a product or a partial sum
        for (let s = 0; s < slots.length; s++) {
          const want = s % 8 < 5 ? expected[s % 8] : 0
          worst = Math.max(worst, Math.abs(slots[s] - want) / scale)
        }
      }
      expect(worst).toBeLessThan(RELATIVE_TOLERANCE)
    })
  })

  it('matches it at N = 8192 with four levels (a Fashion-MNIST-shaped network)', async () => {
    // the parameters model:seal picks for it: depth 4 still fits the smaller ring
    expect(heParamsForNetwork({ input: { height: 28, width: 28, channels: 1 }, layers: FASHION_SHAPED })).toEqual(FOUR_LEVELS_8192)
    const m = randomModel({ input: { height: 28, width: 28, channels: 1 }, layers: FASHION_SHAPED, he: FOUR_LEVELS_8192, seed: 4 })
    // the alignment by half the period (64) is four rotations by steps other stages have keys for: one Galois key fewer
    const product = derivePlan(m.manifest).stages.at(-1)
    if (product?.kind !== 'product') throw new Error('the last stage is the product')
    expect(product.half).toBe(64)
    expect(product.align.length).toBe(4)
    expect(product.align.reduce((a, b) => a + b)).toBe(64)
    expect(m.manifest.plan.rotationSteps).not.toContain(64)
    for (const step of product.align) expect(m.manifest.plan.rotationSteps).toContain(step)
    await withModel(m, (owner, classify) => {
      let worst = 0
      for (const x of inputs(m.manifest, 2, 9)) {
        const expected = forward(m.manifest, m.weights, x)
        const got = owner.decrypt(classify(x))
        const scale = Math.max(1, ...Array.from(expected, Math.abs))
        for (let o = 0; o < expected.length; o++) worst = Math.max(worst, Math.abs(got[o] - expected[o]) / scale)
      }
      console.log(`bilinear at N = 8192, 4 levels: keys [${m.manifest.plan.rotationSteps}], worst relative error ${worst.toExponential(2)}`)
      expect(worst).toBeLessThan(RELATIVE_TOLERANCE)
    })
  })

  it('aligns the factors with keys the plan has where a few rotations do, with a key of its own otherwise', () => {
    expect(alignPath(64, [1, 5, 16, 28, 128, 2048], 4)).toEqual([16, 16, 16, 16])
    // six rotations at best (28 + 28 + 5 + 1 + 1 + 1): one key of its own is cheaper
    expect(alignPath(64, [1, 5, 28], 4)).toEqual([64])
    // three: 28 + 28 + 5
    expect([...alignPath(61, [1, 5, 28], 4)].sort((a, b) => a - b)).toEqual([5, 28, 28])
    expect(alignPath(32, [16], 4)).toEqual([16, 16])
    // 16 rotations cost more than one key; 64 is not a sum of 5s
    expect(alignPath(256, [16], 4)).toEqual([256])
    expect(alignPath(64, [5], 4)).toEqual([64])
  })

  it('refuses a bilinear layer that is not last, not after a dense layer, or whose inputs do not pair up', () => {
    const input = { height: 12, width: 12, channels: 1 as const, mean: [0], std: [1], preprocess: 'photo' as const }
    const plan = (layers: LayerGeometry[]) => () => derivePlan({ input, layers, he: he(16384, [60, 40, 40, 40, 40, 40, 60], 40) })
    const conv: LayerGeometry = { type: 'conv2d', kernel: 3, stride: 1, padding: 0, filters: 2 }
    expect(plan([conv, { type: 'square' }, { type: 'dense', units: 20 }, { type: 'bilinear', units: 10 }, { type: 'dense', units: 10 }])).toThrow(/layer 3 \(bilinear\): only the last layer/)
    expect(plan([conv, { type: 'bilinear', units: 10 }])).toThrow(/layer 1 \(bilinear\): it must follow a dense layer/)
    expect(() => layerShapes({ height: 1, width: 1, channels: 30 }, [{ type: 'bilinear', units: 10 }])).toThrow(/30 inputs must be 2 x 10 units x K/)
    // 2 x 16 x 128 = 4096 slots would be needed; N = 8192 has 4096
    expect(() => derivePlan({ input, layers: [conv, { type: 'square' }, { type: 'dense', units: 2 * 10 * 129 }, { type: 'bilinear', units: 10 }], he: FOUR_LEVELS_8192 })).toThrow(/need 8192 slots, more than 4096/)
  })
})
