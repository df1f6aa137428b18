/**
 * A model with seeded random weights for any conv -> square -> dense geometry.
 * Tests and benchmarks use it to show that a new geometry is only new data:
 * the engine derives its plan from the manifest and needs no code change.
 */
import { DEFAULT_HE_PARAMS, derivePublicPlan } from '../he/plan'
import { MODEL_FORMAT, type HeParams, type ModelManifest, type Weights } from './manifest'
import { convShape } from './geometry'

export interface RandomModelOptions {
  kernel?: number
  stride?: number
  filters?: number
  units?: number
  packing?: 'patches' | 'image'
  he?: HeParams
  seed?: number
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
  const input = { height: 28, width: 28, channels: 1 as const, mean: 0.1307, std: 0.3081 }
  const { positions, taps } = convShape({ inputHeight: 28, inputWidth: 28, kernel, stride, padding: 0 })
  const tensor = (n: number, scale: number) => Float32Array.from({ length: n }, () => random() * scale)
  const weights: Weights = new Map([
    ['conv.weights', tensor(taps * filters, 1 / Math.sqrt(taps))],
    ['conv.bias', tensor(filters, 0.2)],
    ['dense.weights', tensor(positions * filters * units, 1 / Math.sqrt(positions * filters))],
    ['dense.bias', tensor(units, 0.5)],
  ])
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    name: `random-${kernel}x${kernel}s${stride}-${filters}-${o.packing ?? 'patches'}`,
    version: '0.0.0',
    description: 'random weights (tests and benchmarks)',
    classes: Array.from({ length: units }, (_, i) => String(i)),
    input,
    layers: [
      { type: 'conv2d', kernel, stride, padding: 0, filters, packing: o.packing ?? 'patches', weights: 'conv.weights', bias: 'conv.bias' },
      { type: 'square' },
      { type: 'dense', units, weights: 'dense.weights', bias: 'dense.bias' },
    ],
    he,
    plan: { rotationSteps: [] },
    weights: { file: '', dtype: 'float32', byteLength: 0, sha256: '', tensors: [] },
    contentHash: 'random',
  }
  manifest.plan.rotationSteps = derivePublicPlan(manifest).rotationSteps
  return { manifest, weights }
}
