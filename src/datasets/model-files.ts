// Loads a model directory (manifest.json + weights.bin) and checks it before use.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { derivePublicPlan } from '../he/plan'
import { contentHash, migrateManifest, readWeights, sha256Hex, type ModelManifest, type Weights } from '../model/manifest'

/** The shipped models, one directory each (the server serves every directory found here). */
export const MODELS_DIR = fileURLToPath(new URL('../../server/models', import.meta.url))

export interface ModelFiles {
  manifest: ModelManifest
  weights: Weights
  weightBytes: Uint8Array
}

export async function loadModelDir(dir: string): Promise<ModelFiles> {
  const stored = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest
  const weightBytes = new Uint8Array(readFileSync(join(dir, stored.weights.file)))
  if ((await sha256Hex(weightBytes)) !== stored.weights.sha256) throw new Error(`${dir}: weights do not match their sha256`)
  // the hash covers the manifest as stored; a v1 manifest is read as v2 only after it
  if ((await contentHash(stored, weightBytes)) !== stored.contentHash) throw new Error(`${dir}: content hash mismatch`)
  let manifest: ModelManifest
  try {
    manifest = migrateManifest(stored)
  } catch (e) {
    throw new Error(`${dir}: ${(e as Error).message}`)
  }
  const steps = derivePublicPlan(manifest).rotationSteps
  if (steps.join(',') !== manifest.plan.rotationSteps.join(',')) throw new Error(`${dir}: rotation steps differ from the derived plan`)
  return { manifest, weights: readWeights(manifest, weightBytes), weightBytes }
}

/**
 * Why `dir` holds no finished model, or undefined when it looks finished: no manifest.json, one
 * that is cut short, or one not sealed yet (no content hash: `npm run model:seal` fills it).
 * A finished manifest whose weights or hash do not match is not unfinished: loadModelDir refuses it.
 */
export function unfinishedModelDir(dir: string): string | undefined {
  const file = join(dir, 'manifest.json')
  if (!existsSync(file)) return 'no manifest.json'
  let stored: unknown
  try {
    stored = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return 'manifest.json is incomplete (not valid JSON)'
  }
  if (typeof stored !== 'object' || stored === null) return 'manifest.json holds no manifest'
  const hash = (stored as { contentHash?: unknown }).contentHash
  if (typeof hash !== 'string' || hash === '') return 'manifest.json is not sealed yet (no content hash; run npm run model:seal)'
  return undefined
}

/**
 * Every model under `root` (one directory each), keyed by manifest name. Hidden entries are
 * skipped without a word (a writer fills `.NAME.partial-PID` and renames it into place when it
 * is complete: scripts/training/model-folder.ts); a visible folder with no finished manifest is
 * skipped with one warning line naming it, so an interrupted export never stops a server.
 */
export async function loadModels(root = MODELS_DIR, warn: (line: string) => void = console.warn): Promise<Map<string, ModelFiles>> {
  const out = new Map<string, ModelFiles>()
  for (const name of readdirSync(root).sort()) {
    if (name.startsWith('.')) continue
    const dir = join(root, name)
    if (!statSync(dir).isDirectory()) continue
    const unfinished = unfinishedModelDir(dir)
    if (unfinished) {
      warn(`skipping model folder ${dir}: ${unfinished}`)
      continue
    }
    const files = await loadModelDir(dir)
    out.set(files.manifest.name, files)
  }
  return out
}
