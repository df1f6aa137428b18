// Writes a trained model as manifest.json + weights.bin (float32, little-endian).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ConvGeometry } from '../src/model/geometry'
import { contentHash, MODEL_FORMAT, sha256Hex, type InputSpec, type ModelManifest, type TensorEntry } from '../src/model/manifest'
import { DEFAULT_HE_PARAMS, derivePublicPlan } from '../src/he/plan'

export interface TrainedModel {
  out: string
  name: string
  description: string
  classes: string[]
  input: InputSpec
  geometry: ConvGeometry
  filters: number
  packing: 'patches' | 'image'
  tensors: { convW: Float32Array; convB: Float32Array; denseW: Float32Array; denseB: Float32Array }
  training: Record<string, unknown>
}

export async function exportModel(t: TrainedModel): Promise<ModelManifest> {
  const order: Array<[string, Float32Array, number[]]> = [
    ['conv1.weights', t.tensors.convW, [t.geometry.kernel ** 2, t.filters]],
    ['conv1.bias', t.tensors.convB, [t.filters]],
    ['dense1.weights', t.tensors.denseW, [t.tensors.denseW.length / t.classes.length, t.classes.length]],
    ['dense1.bias', t.tensors.denseB, [t.classes.length]],
  ]
  const total = order.reduce((n, [, v]) => n + v.length, 0)
  const all = new Float32Array(total)
  const tensors: TensorEntry[] = []
  let offset = 0
  for (const [name, values, shape] of order) {
    all.set(values, offset)
    tensors.push({ name, shape, offset })
    offset += values.length
  }
  const bytes = new Uint8Array(all.buffer)
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    name: t.name,
    version: '1.0.0',
    description: t.description,
    classes: t.classes,
    input: t.input,
    layers: [
      { type: 'conv2d', kernel: t.geometry.kernel, stride: t.geometry.stride, padding: t.geometry.padding, filters: t.filters, packing: t.packing, weights: 'conv1.weights', bias: 'conv1.bias' },
      { type: 'square' },
      { type: 'dense', units: t.classes.length, weights: 'dense1.weights', bias: 'dense1.bias' },
    ],
    he: DEFAULT_HE_PARAMS,
    plan: { rotationSteps: [] },
    weights: { file: 'weights.bin', dtype: 'float32', byteLength: bytes.byteLength, sha256: await sha256Hex(bytes), tensors },
    training: { ...t.training, exportedAt: new Date().toISOString() },
    contentHash: '',
  }
  manifest.plan.rotationSteps = derivePublicPlan(manifest).rotationSteps
  manifest.contentHash = await contentHash(manifest, bytes)
  mkdirSync(t.out, { recursive: true })
  writeFileSync(join(t.out, 'weights.bin'), bytes)
  writeFileSync(join(t.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
  console.log(`wrote ${t.out}: ${bytes.byteLength} bytes of weights, contentHash ${manifest.contentHash.slice(0, 16)}`)
  return manifest
}
