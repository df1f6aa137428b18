/**
 * Grouped, depthwise and pointwise convolutions (conv2d `groups`) under real
 * encryption against the plaintext reference (src/model/forward.ts, plain
 * loops, no code shared with the plan): as the first layer with both
 * packings and as later layers, stride 1 and 2, padding, depthwise -> poly
 * -> pointwise, and a depthwise followed directly by a pointwise (composed
 * into one stage). Random weights; client and server in separate SEAL
 * instances, talking through bytes. The plan-only checks below show why a
 * depthwise layer is cheap: each channel stays where it is (grid.ts
 * keptGrid), so a tap is one rotation for every channel of a ciphertext.
 */
import SEAL from 'node-seal'
import { beforeAll, describe, expect, it } from 'vitest'
import type { HeParams, LayerGeometry } from '../model/manifest'
import type { Seal } from './context'
import { planOpCounts, totals } from './op-counts'
import { DEFAULT_HE_PARAMS } from './params'
import { derivePlan } from './plan'
import { randomModel } from './random-model'
import { worstReferenceError } from './test-support/reference-error'

/** |encrypted - plaintext| / max(1, max |plaintext logit|) */
const RELATIVE_TOLERANCE = 1e-3
const IMAGES = 2

const he = (levels: number): HeParams => ({
  scheme: 'ckks',
  polyModulusDegree: 16384,
  coeffModulusBits: [60, ...Array(levels).fill(40), 60],
  scaleBits: 40,
  securityLevel: 'tc128',
})

const conv = (kernel: number, stride: number, padding: number, filters: number, groups?: number, packing?: 'patches' | 'image'): LayerGeometry => ({
  type: 'conv2d',
  kernel,
  stride,
  padding,
  filters,
  ...(groups ? { groups } : {}),
  ...(packing ? { packing } : {}),
})

interface Case {
  name: string
  input: { height: number; width: number; channels: 1 | 3 }
  layers: LayerGeometry[]
  he: HeParams
}

const cases: Case[] = [
  {
    name: 'first layer grouped (patches, 3 groups on 3 channels, stride 2, padding), poly, dense',
    input: { height: 8, width: 8, channels: 3 },
    layers: [conv(3, 2, 1, 6, 3, 'patches'), { type: 'poly' }, { type: 'dense', units: 4 }],
    he: DEFAULT_HE_PARAMS,
  },
  {
    name: 'first layer pointwise (image packing), square, depthwise 3x3 stride 2 padding 1, square, dense',
    input: { height: 10, width: 10, channels: 1 },
    layers: [conv(1, 1, 0, 4, undefined, 'image'), { type: 'square' }, conv(3, 2, 1, 4, 4), { type: 'square' }, { type: 'dense', units: 5 }],
    he: he(5),
  },
  {
    name: 'depthwise 3x3 stride 2 -> poly -> pointwise -> square -> depthwise 3x3 stride 1 + pool + dense',
    input: { height: 12, width: 12, channels: 3 },
    layers: [
      conv(3, 1, 1, 8, undefined, 'patches'),
      { type: 'poly' },
      conv(3, 2, 1, 8, 8),
      { type: 'poly' },
      conv(1, 1, 0, 12),
      { type: 'square' },
      conv(3, 1, 1, 12, 12),
      { type: 'avgpool2d', size: 2 },
      { type: 'dense', units: 5 },
    ],
    he: he(7),
  },
  {
    name: 'grouped convs later (groups 4, stride 2, padding; then a grouped pointwise, groups 2, folded into the dense layer)',
    input: { height: 8, width: 8, channels: 3 },
    layers: [conv(3, 1, 1, 8, undefined, 'patches'), { type: 'square' }, conv(3, 2, 1, 8, 4), { type: 'poly' }, conv(1, 1, 0, 6, 2), { type: 'dense', units: 4 }],
    he: he(5),
  },
  {
    name: 'depthwise directly followed by pointwise (one composed stage), square, pool, dense',
    input: { height: 8, width: 8, channels: 3 },
    layers: [conv(3, 1, 1, 6, undefined, 'patches'), { type: 'poly' }, conv(3, 1, 1, 6, 6), conv(1, 1, 0, 8), { type: 'square' }, { type: 'avgpool2d', size: 2 }, { type: 'dense', units: 4 }],
    he: he(5),
  },
]

let clientSeal: Seal
let serverSeal: Seal
beforeAll(async () => {
  clientSeal = await SEAL()
  serverSeal = await SEAL()
})

describe('grouped and depthwise convolutions with random weights match their plaintext reference', () => {
  cases.forEach((c, n) => {
    it(c.name, async () => {
      const model = randomModel({ input: c.input, layers: c.layers, he: c.he, seed: 31 + n })
      const { worst } = await worstReferenceError(model, { client: clientSeal, server: serverSeal }, IMAGES, 17 + n)
      expect(worst).toBeLessThan(RELATIVE_TOLERANCE)
    }, 300_000)
  })
})

describe('the plan of a depthwise layer', () => {
  const input = { height: 16, width: 16, channels: 3 as const, mean: [0, 0, 0], std: [1, 1, 1], preprocess: 'photo' as const }
  /** plaintext products and rotations of stage 2 (the layer after the first conv and its activation) */
  const costOf = (layer: LayerGeometry) => {
    const plan = derivePlan({ input, layers: [conv(3, 1, 1, 32, undefined, 'patches'), { type: 'poly' }, layer, { type: 'poly' }, { type: 'dense', units: 10 }], he: he(5) })
    const stage = plan.stages[2]
    if (stage.kind !== 'linear') throw new Error('unexpected plan')
    return { ...totals(planOpCounts(plan)[2]), inputs: stage.input.ciphertexts, outputs: stage.output.ciphertexts }
  }

  it.each([1, 2])('at stride %i costs a few products per input ciphertext, far below a full conv of the same shape', (stride) => {
    const depthwise = costOf(conv(3, stride, 1, 32, 32))
    const full = costOf(conv(3, stride, 1, 32))
    // each channel stays in its ciphertext at its own base: one diagonal per tap and ciphertext
    expect(depthwise.outputs).toBe(depthwise.inputs)
    expect(depthwise.plainProducts).toBeLessThanOrEqual(9 * depthwise.inputs)
    expect(depthwise.plainProducts * 8).toBeLessThan(full.plainProducts)
    expect(depthwise.rotations).toBeLessThan(full.rotations)
  })

  it('places every element of a kept grid in a distinct (ciphertext, slot)', () => {
    const layers: LayerGeometry[] = [conv(3, 1, 1, 32, undefined, 'patches'), { type: 'poly' }, conv(3, 2, 1, 32, 32), { type: 'poly' }, conv(1, 1, 0, 64), { type: 'poly' }, conv(3, 1, 1, 64, 64), { type: 'poly' }, { type: 'dense', units: 10 }]
    const plan = derivePlan({ input, layers, he: he(9) })
    const linear = plan.stages.filter((s) => s.kind === 'linear')
    for (const stage of linear) {
      const seen = new Set<number>()
      for (let i = 0; i < stage.output.ct.length; i++) {
        const key = stage.output.ct[i] * plan.slots + stage.output.slot[i]
        expect(seen.has(key)).toBe(false)
        seen.add(key)
      }
    }
    // the depthwise stride-2 stage keeps its channels in place: one diagonal per tap and ciphertext
    expect(linear[1].output.ciphertexts).toBe(linear[1].input.ciphertexts)
    expect(linear[1].terms.length).toBe(9 * linear[1].input.ciphertexts)
    // the depthwise stride-1 stage on the packed grid: nine taps, nine diagonals
    expect(linear[3].terms.length).toBe(9)
  })

  it('a grouped conv costs less than the full one, more than the depthwise one', () => {
    const grouped = costOf(conv(3, 1, 1, 32, 4))
    expect(grouped.plainProducts).toBeLessThan(costOf(conv(3, 1, 1, 32)).plainProducts)
    expect(grouped.plainProducts).toBeGreaterThan(costOf(conv(3, 1, 1, 32, 32)).plainProducts)
  })

  it('composed with a pointwise layer it is a full map again: the pair costs what one full 3x3 conv costs', () => {
    const layers = (mid: LayerGeometry[]): LayerGeometry[] => [conv(3, 1, 1, 32, undefined, 'patches'), { type: 'poly' }, ...mid, { type: 'poly' }, { type: 'dense', units: 10 }]
    const products = (mid: LayerGeometry[]) => totals(planOpCounts(derivePlan({ input, layers: layers(mid), he: he(5) }))[2]).plainProducts
    expect(products([conv(3, 2, 1, 32, 32), conv(1, 1, 0, 32)])).toBe(products([conv(3, 2, 1, 32)]))
  })
})
