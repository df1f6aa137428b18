/**
 * node --import tsx scripts/training/folder/finish.ts DIR [--onnx FILE] [--samples SAMPLES_DIR --per-class N] [--final OUT]
 *
 * The last step of `npm run train:torch -- --data ...` (which runs it): seals the exported model
 * in DIR as `npm run model:seal` does (HE parameters for its depth, plan, content hash; ../seal.ts)
 * and writes it as ONNX (default DIR/NAME.onnx; ../onnx/write-onnx.ts), with ONNX Runtime's
 * logits checked against the manifest's forward pass as `npm run model:export-onnx` does. With
 * --samples, N PNG images per class from SAMPLES_DIR/<class>/ become the model's "try an example"
 * images (DIR/samples/, as `npm run model:import -- --samples` makes them). --final names the
 * folder DIR becomes once the trainer renames it into place, for the messages.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadModelDir } from '../../../src/datasets/model-files'
import { helpIfAsked } from '../../help'
import { checkAgainstOrt } from '../onnx/reference-check'
import { copySamples } from '../onnx/samples'
import { manifestToOnnx } from '../onnx/write-onnx'
import { sealModel } from '../seal'

helpIfAsked(import.meta.url)
const { positionals, values } = parseArgs({ allowPositionals: true, options: { onnx: { type: 'string' }, samples: { type: 'string' }, 'per-class': { type: 'string', default: '2' }, final: { type: 'string' } } })
const dir = positionals[0]
if (!dir) throw new Error('usage: finish.ts DIR [--onnx FILE]')
const shown = (path: string) => (values.final ? path.replace(dir, values.final) : path)
console.log(`sealed ${shown(await sealModel(dir, {}))}`)
const { manifest, weights } = await loadModelDir(dir)
const out = values.onnx ?? join(dir, `${manifest.name}.onnx`)
let bytes: Uint8Array | undefined
try {
  bytes = manifestToOnnx(manifest, weights)
} catch (e) {
  console.warn(`note: no ONNX file: ${(e as Error).message}`)
}
if (bytes) {
  writeFileSync(out, bytes)
  const f = await checkAgainstOrt(out, manifest, weights, { images: 32, encryptedImages: 0 })
  console.log(`wrote ${shown(out)}; ONNX Runtime vs manifest forward pass on ${f.images} images: max |diff| ${f.maxError.toExponential(2)}, max |logit| ${f.maxLogit.toFixed(3)}`)
}
if (values.samples) {
  const n = copySamples(values.samples, manifest.classes, join(dir, 'samples'), Number(values['per-class']))
  console.log(`wrote ${n} sample images to ${shown(join(dir, 'samples'))}`)
}
