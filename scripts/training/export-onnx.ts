/**
 * npm run model:export-onnx -- NAME [--out FILE]
 *
 * Writes the served model server/models/NAME as ONNX (default NAME.onnx in the current folder),
 * runs it with ONNX Runtime and prints how far its logits are from the manifest's plaintext
 * forward pass on sample images. `npm run model:import` reads the file back to the same weights,
 * staggered pools and bilinear read-outs included (written in standard operators: ./onnx/write-onnx.ts).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadModelDir, MODELS_DIR } from '../../src/datasets/model-files'
import { helpIfAsked } from '../help'
import { checkAgainstOrt } from './onnx/reference-check'
import { manifestToOnnx } from './onnx/write-onnx'

helpIfAsked(import.meta.url)
const { positionals, values } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } })
const name = positionals[0]
if (!name) throw new Error('usage: npm run model:export-onnx -- NAME [--out FILE]')
const { manifest, weights } = await loadModelDir(join(MODELS_DIR, name))
const out = values.out ?? `${name}.onnx`
let bytes: Uint8Array
try {
  bytes = manifestToOnnx(manifest, weights)
} catch (e) {
  console.error(`model:export-onnx: ${name}: ${(e as Error).message}; nothing was written`)
  process.exit(1)
}
writeFileSync(out, bytes)
const f = await checkAgainstOrt(out, manifest, weights, { images: 32, encryptedImages: 0 })
console.log(`wrote ${out}; ONNX Runtime vs manifest forward pass on ${f.images} images: max |diff| ${f.maxError.toExponential(2)}, max |logit| ${f.maxLogit.toFixed(3)}`)
