/**
 * The exporter's format, on the TypeScript side: manifest.json + weights.bin (float32
 * little-endian) as docs/model-format.md describes, written exactly as the PyTorch trainer's
 * export does (scripts/training/blindfold_train/export.py): tensors in the given order, the HE
 * parameters, plan and content hash left for the sealing step (./seal.ts) to fill.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MODEL_FORMAT, sha256Hex, type InputSpec, type ModelManifest, type TensorEntry } from '../../src/model/manifest'

export interface ExportedModel {
  out: string
  name: string
  version: string
  description: string
  classes: string[]
  input: InputSpec
  /** manifest layers, naming their tensors (`conv1.weights`, ...) */
  layers: ModelManifest['layers']
  /** every tensor the layers name, in weights.bin order: name, values, shape */
  tensors: Array<[string, Float32Array, number[]]>
  training: Record<string, unknown>
}

/** The `he` of a model not sealed yet (the Python exporter writes the same). */
const UNSEALED_HE: ModelManifest['he'] = { scheme: 'ckks', polyModulusDegree: 16384, coeffModulusBits: [], scaleBits: 0, securityLevel: 'tc128' }

export async function exportModel(t: ExportedModel): Promise<ModelManifest> {
  const total = t.tensors.reduce((n, [, v]) => n + v.length, 0)
  const all = new Float32Array(total)
  const entries: TensorEntry[] = []
  let offset = 0
  for (const [name, values, shape] of t.tensors) {
    if (shape.reduce((a, b) => a * b, 1) !== values.length) throw new Error(`${name}: shape [${shape}] does not hold ${values.length} values`)
    all.set(values, offset)
    entries.push({ name, shape, offset })
    offset += values.length
  }
  const bytes = new Uint8Array(all.buffer)
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    name: t.name,
    version: t.version,
    description: t.description,
    classes: t.classes,
    input: t.input,
    layers: t.layers,
    he: UNSEALED_HE,
    plan: { rotationSteps: [] },
    weights: { file: 'weights.bin', dtype: 'float32', byteLength: bytes.byteLength, sha256: await sha256Hex(bytes), tensors: entries },
    training: { ...t.training, exportedAt: new Date().toISOString() },
    contentHash: '',
  }
  mkdirSync(t.out, { recursive: true })
  writeFileSync(join(t.out, 'weights.bin'), bytes)
  writeFileSync(join(t.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
  return manifest
}
