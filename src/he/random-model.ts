/**
 * A model with seeded random weights for any geometry the format allows.
 * Tests and benchmarks use it to show that a new network is only new data:
 * the engine derives its plan from the manifest and needs no code change.
 */
import { heParamsForDepth } from './params'
import { derivePublicPlan } from './plan'
import { DEFAULT_HE_PARAMS } from './params'
import { MODEL_FORMAT, readWeights, type HeParams, type InputSpec, type Layer, type LayerGeometry, type ModelManifest, type Weights } from '../model/manifest'
import { layerShapes } from '../model/geometry'
import { inputShape } from '../model/forward'

export interface RandomModelOptions {
  /** shorthand for conv -> square -> dense on 28x28 grey */
  kernel?: number
  stride?: number
  filters?: number
  units?: number
  packing?: 'patches' | 'image'
  /** or any network: geometry only, weights are made up */
  input?: Pick<InputSpec, 'height' | 'width' | 'channels'>
  layers?: LayerGeometry[]
  he?: HeParams
  seed?: number
  name?: string
}

/**
 * A small N = 16384 network whose first stage has two output ciphertexts and whose later stages
 * have one: both ways of sharing an image between workers run on it (src/he/stage-share.ts).
 */
export const SMALL_DEEP_NET: Pick<RandomModelOptions, 'input' | 'layers' | 'he'> = {
  input: { height: 16, width: 16, channels: 3 },
  layers: [
    { type: 'conv2d', kernel: 3, stride: 1, padding: 1, filters: 48, packing: 'patches' },
    { type: 'poly' },
    { type: 'conv2d', kernel: 3, stride: 2, padding: 1, filters: 32 },
    { type: 'square' },
    { type: 'avgpool2d', size: 2 },
    { type: 'dense', units: 10 },
  ],
  he: heParamsForDepth(5),
}

export function randomModel(o: RandomModelOptions = {}): { manifest: ModelManifest; weights: Weights } {
  const kernel = o.kernel ?? 5
  const stride = o.stride ?? 2
  const filters = o.filters ?? 8
  const units = o.units ?? 10
  const he = o.he ?? DEFAULT_HE_PARAMS
  let state = (o.seed ?? 1) >>> 0
  const random = () => {
    // xorshift32: deterministic test data
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return ((state >>> 0) / 4294967296) * 2 - 1
  }
  const size = o.input ?? { height: 28, width: 28, channels: 1 as const }
  const input: InputSpec = {
    ...size,
    mean: size.channels === 1 ? [0.1307] : [0.49, 0.48, 0.45],
    std: size.channels === 1 ? [0.3081] : [0.25, 0.24, 0.26],
    preprocess: size.channels === 1 ? 'ink-on-background' : 'photo',
  }
  const geometry: LayerGeometry[] = o.layers ?? [
    { type: 'conv2d', kernel, stride, padding: 0, filters, packing: o.packing ?? 'patches' },
    { type: 'square' },
    { type: 'dense', units },
  ]
  const shapes = layerShapes(inputShape(input), geometry)
  const tensor = (n: number, scale: number) => Float32Array.from({ length: n }, () => random() * scale)
  const weights: Weights = new Map()
  const layers: Layer[] = geometry.map((l, i): Layer => {
    const s = i === 0 ? inputShape(input) : shapes[i - 1]
    const fanIn = (l.type === 'conv2d' ? (l.kernel * l.kernel * s.channels) / (l.groups ?? 1) : s.height * s.width * s.channels)
    switch (l.type) {
      case 'conv2d':
        weights.set(`l${i}.weights`, tensor(fanIn * l.filters, 1 / Math.sqrt(fanIn)))
        weights.set(`l${i}.bias`, tensor(l.filters, 0.2))
        return { ...l, weights: `l${i}.weights`, bias: `l${i}.bias` }
      case 'dense':
        weights.set(`l${i}.weights`, tensor(fanIn * l.units, 1 / Math.sqrt(fanIn)))
        weights.set(`l${i}.bias`, tensor(l.units, 0.5))
        return { ...l, weights: `l${i}.weights`, bias: `l${i}.bias` }
      case 'poly': {
        // a in +-[0.1, 0.4] (either sign), b in [0.5, 1.5], c in [-0.2, 0.2]
        const coefficients = Float32Array.from({ length: s.channels * 3 }, (_, j) =>
          j % 3 === 0 ? Math.sign(random() || 1) * (0.25 + 0.15 * random()) : j % 3 === 1 ? 1 + 0.5 * random() : 0.2 * random(),
        )
        weights.set(`l${i}.coefficients`, coefficients)
        return { type: 'poly', coefficients: `l${i}.coefficients` }
      }
      default:
        return { ...l } as Layer
    }
  })
  const packing = geometry[0]?.type === 'conv2d' ? (geometry[0].packing ?? 'patches') : 'patches'
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    name: o.name ?? (o.layers ? `random-${geometry.map((l) => l.type).join('-')}` : `random-${kernel}x${kernel}s${stride}-${filters}-${packing}`),
    version: '0.0.0',
    description: 'random weights (tests and benchmarks)',
    classes: Array.from({ length: shapes[shapes.length - 1].channels }, (_, i) => String(i)),
    input,
    layers,
    he,
    plan: { rotationSteps: [] },
    weights: { file: '', dtype: 'float32', byteLength: 0, sha256: '', tensors: [] },
    contentHash: 'random',
  }
  manifest.plan.rotationSteps = derivePublicPlan(manifest).rotationSteps
  return { manifest, weights }
}

/** The same model with its weights in one float32 buffer and the manifest's tensor table filled in (what a server loads). */
export function randomModelFiles(o: RandomModelOptions = {}): { manifest: ModelManifest; weights: Weights; weightBytes: Uint8Array } {
  const { manifest, weights } = randomModel(o)
  const total = [...weights.values()].reduce((n, t) => n + t.length, 0)
  const all = new Float32Array(total)
  let offset = 0
  const tensors = [...weights].map(([name, t]) => {
    all.set(t, offset)
    const entry = { name, shape: [t.length], offset }
    offset += t.length
    return entry
  })
  const weightBytes = new Uint8Array(all.buffer)
  manifest.weights = { ...manifest.weights, file: 'weights.bin', byteLength: weightBytes.byteLength, tensors }
  return { manifest, weights: readWeights(manifest, weightBytes), weightBytes }
}
