/**
 * Models for the server tests: the trained ones under server/models when
 * present, otherwise a random-weight model of the same architecture built in
 * memory (conv 5x5/2 -> x^2 -> dense 10), so tests run before training ends.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { loadModels, MODELS_DIR, type ModelFiles } from '../../src/datasets/model-files'
import { derivePublicPlan } from '../../src/he/plan'
import { DEFAULT_HE_PARAMS } from '../../src/he/params'
import { contentHash, MODEL_FORMAT, readWeights, sha256Hex, type ModelManifest } from '../../src/model/manifest'

/**
 * The server tests exercise sessions, limits and faults, not the models, and every pool worker
 * builds every model it serves: an N = 16384 model (CIFAR-10) takes tens of seconds and gigabytes per worker
 * to build, so these tests serve the N = 8192 models unless TEST_ALL_MODELS=1. The heavy models
 * are tested where they matter: src/he/shipped-models.test.ts, src/model/model.test.ts and the
 * minimal client against the real server (examples/minimal-client.test.ts).
 */
export async function testModels(): Promise<Map<string, ModelFiles>> {
  const present = existsSync(MODELS_DIR) && readdirSync(MODELS_DIR).some((d) => existsSync(join(MODELS_DIR, d, 'manifest.json')))
  if (present && process.env.TEST_RANDOM_MODEL !== '1') {
    const all = await loadModels()
    if (process.env.TEST_ALL_MODELS === '1') return all
    return new Map([...all].filter(([, m]) => m.manifest.he.polyModulusDegree <= 8192))
  }
  const m = await randomModel('random-cnn', 8, 1)
  return new Map([[m.manifest.name, m]])
}

/** Deterministic random weights (a small LCG) so failures reproduce. */
export async function randomModel(name: string, filters: number, seed: number): Promise<ModelFiles> {
  let s = seed >>> 0
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.5
  const positions = 144
  const sizes: Array<[string, number[]]> = [
    ['conv1.weights', [25, filters]],
    ['conv1.bias', [filters]],
    ['dense1.weights', [positions * filters, 10]],
    ['dense1.bias', [10]],
  ]
  const total = sizes.reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0)
  const all = Float32Array.from({ length: total }, rand)
  let offset = 0
  const tensors = sizes.map(([tname, shape]) => {
    const t = { name: tname, shape, offset }
    offset += shape.reduce((a, b) => a * b, 1)
    return t
  })
  const bytes = new Uint8Array(all.buffer)
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    name,
    version: '0.0.0-test',
    description: 'random weights for tests',
    classes: Array.from({ length: 10 }, (_, i) => String(i)),
    input: { height: 28, width: 28, channels: 1, mean: [0.1307], std: [0.3081], preprocess: 'ink-on-background' },
    layers: [
      { type: 'conv2d', kernel: 5, stride: 2, padding: 0, filters, weights: 'conv1.weights', bias: 'conv1.bias' },
      { type: 'square' },
      { type: 'dense', units: 10, weights: 'dense1.weights', bias: 'dense1.bias' },
    ],
    he: DEFAULT_HE_PARAMS,
    plan: { rotationSteps: [] },
    weights: { file: 'weights.bin', dtype: 'float32', byteLength: bytes.byteLength, sha256: await sha256Hex(bytes), tensors },
    contentHash: '',
  }
  manifest.plan.rotationSteps = derivePublicPlan(manifest).rotationSteps
  manifest.contentHash = await contentHash(manifest, bytes)
  return { manifest, weights: readWeights(manifest, bytes), weightBytes: bytes }
}
