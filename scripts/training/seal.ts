/**
 * Sealing an exported model (manifest.json + weights.bin as the trainers write them, no HE
 * parameters or plan yet): picks the first layer's packing (image where it applies and fits,
 * else patches), the HE parameters for the network's depth (src/he/params.ts) unless `he` names
 * them, derives the plan's rotation steps, checks that a server worker's SEAL heap holds its
 * encoded weights (src/he/weight-memory.ts) and writes the content hash. Then builds the SEAL
 * context (tc128) and loads the directory the way the server does, so a model this accepts is a
 * model the server serves. The manifest is replaced in one rename; until then the folder holds
 * the unsealed manifest, which the server skips with a warning.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadModelDir } from '../../src/datasets/model-files'
import { createHeContext, loadSeal } from '../../src/he/context'
import { heParamsForNetwork, parseHeParams } from '../../src/he/params'
import { derivePlan } from '../../src/he/plan'
import { checkEncodedWeights, encodedWeightSize } from '../../src/he/weight-memory'
import { contentHash, type ModelManifest } from '../../src/model/manifest'

export interface SealOptions {
  /** the dataset the model reads: mnist | fashion-mnist | cifar10; absent for a model trained on data of its own */
  dataset?: string
  packing?: 'image' | 'patches'
  /** `N:BITS:SCALE`, e.g. `8192:38,28x5,40:28` (src/he/params.ts) */
  he?: string
}

/** Seals the model in `dir` in place; returns the one-line summary the command prints. */
export async function sealModel(dir: string, options: SealOptions): Promise<string> {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest
  if (options.dataset) manifest.dataset = options.dataset
  const first = manifest.layers[0]
  if (first?.type !== 'conv2d') throw new Error(`${dir}: the first layer must be conv2d`)
  const imageFits = first.stride === 1 && first.padding === 0 && manifest.input.channels === 1
  first.packing = options.packing ?? (imageFits ? 'image' : 'patches')
  manifest.he = options.he ? parseHeParams(options.he) : heParamsForNetwork(manifest)
  // SEAL's own check at tc128 (made on the whole modulus, so the levels below, which only add
  // NTT tables, need not be built), and the plan's check that the chain holds the network's depth
  createHeContext(await loadSeal(), manifest.he, { chain: false }).dispose()
  const plan = derivePlan(manifest)
  // a server worker must hold the encoded weights in one 32-bit SEAL heap: refused now, not at the server's start
  const weightSize = encodedWeightSize(plan, manifest.he)
  checkEncodedWeights(manifest.name, weightSize)
  manifest.plan = { rotationSteps: plan.rotationSteps }
  const weights = new Uint8Array(readFileSync(join(dir, manifest.weights.file)))
  manifest.contentHash = await contentHash(manifest, weights)
  // a run cut short leaves the unsealed manifest, never half a sealed one
  const file = join(dir, 'manifest.json')
  writeFileSync(`${file}.partial-${process.pid}`, JSON.stringify(manifest, null, 2) + '\n')
  renameSync(`${file}.partial-${process.pid}`, file)
  await loadModelDir(dir)
  return `${dir}: ${first.packing} packing, depth ${plan.depth}, N = ${manifest.he.polyModulusDegree}, q = [${manifest.he.coeffModulusBits}], ${plan.input.ciphertexts} input ciphertexts, rotation steps [${plan.rotationSteps}], encoded weights on the server ${(weightSize.bytes / 2 ** 30).toFixed(2)} GiB (${weightSize.plaintexts} plaintexts)`
}
