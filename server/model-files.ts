// Loads a model directory (manifest.json + weights.bin) and checks it before use.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { derivePublicPlan } from '../src/he/plan'
import { contentHash, MODEL_FORMAT, readWeights, sha256Hex, type ModelManifest, type Weights } from '../src/model/manifest'

export const MODELS_DIR = fileURLToPath(new URL('./models', import.meta.url))

export interface ModelFiles {
  manifest: ModelManifest
  weights: Weights
  weightBytes: Uint8Array
}

export async function loadModelDir(dir: string): Promise<ModelFiles> {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest
  if (manifest.format !== MODEL_FORMAT) throw new Error(`${dir}: unknown model format ${manifest.format}`)
  const weightBytes = new Uint8Array(readFileSync(join(dir, manifest.weights.file)))
  if ((await sha256Hex(weightBytes)) !== manifest.weights.sha256) throw new Error(`${dir}: weights do not match their sha256`)
  if ((await contentHash(manifest, weightBytes)) !== manifest.contentHash) throw new Error(`${dir}: content hash mismatch`)
  const steps = derivePublicPlan(manifest).rotationSteps
  if (steps.join(',') !== manifest.plan.rotationSteps.join(',')) throw new Error(`${dir}: rotation steps differ from the derived plan`)
  return { manifest, weights: readWeights(manifest, weightBytes), weightBytes }
}

/** Every model under `root` (one directory each), keyed by manifest name. */
export async function loadModels(root = MODELS_DIR): Promise<Map<string, ModelFiles>> {
  const out = new Map<string, ModelFiles>()
  for (const name of readdirSync(root)) {
    const dir = join(root, name)
    if (!statSync(dir).isDirectory()) continue
    const files = await loadModelDir(dir)
    out.set(files.manifest.name, files)
  }
  return out
}
