/**
 * npm run model:import -- MODEL.onnx --name NAME --classes "a,b,..." --preprocess photo|ink-on-background
 *   [--mean M[,M,M]] [--std S[,S,S]] [--he auto|N:BITS:SCALE] [--samples DIR] [--force]
 *
 * Imports an HE-friendly network exported to ONNX (e.g. by torch.onnx.export) as a served model:
 * server/models/NAME/ with manifest, weights, HE parameters for its depth, plan and content hash.
 * The network sees (pixel / 255 - mean) / std per channel (defaults 0 and 1). Before writing,
 * ONNX Runtime runs the original file on sample images: the manifest's plaintext logits must match
 * and the encrypted evaluation must give the same argmax; the figures are printed. A node outside
 * the supported subset is refused with its name and the replacement to train with; see
 * docs/your-own-model.md. `--samples DIR` copies two PNGs per class from DIR/<class>/.
 * MODELS_DIR, as the server reads it, names another folder of models to write into.
 */
import { parseArgs } from 'node:util'
import { helpIfAsked } from '../help'
import type { Preprocess } from '../../src/model/manifest'
import { OnnxImportError } from './onnx/import-error'
import { importOnnx } from './onnx/import-model'
import { describeFigures } from './onnx/reference-check'

const USAGE = 'usage: npm run model:import -- MODEL.onnx --name NAME --classes "a,b,..." --preprocess photo|ink-on-background [--mean ...] [--std ...] [--he auto|N:BITS:SCALE] [--samples DIR] [--force]'
helpIfAsked(import.meta.url)
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string' },
    classes: { type: 'string' },
    preprocess: { type: 'string' },
    mean: { type: 'string' },
    std: { type: 'string' },
    he: { type: 'string' },
    samples: { type: 'string' },
    force: { type: 'boolean' },
  },
})
const numbers = (s: string | undefined) => s?.split(',').map(Number)
if (positionals.length !== 1 || !values.name || !values.classes || !values.preprocess) {
  console.error(USAGE)
  process.exit(2)
}
try {
  const result = await importOnnx({
    onnx: positionals[0],
    name: values.name,
    classes: values.classes.split(',').map((c) => c.trim()),
    preprocess: values.preprocess as Preprocess,
    mean: numbers(values.mean),
    std: numbers(values.std),
    he: values.he,
    samples: values.samples,
    force: values.force,
    modelsDir: process.env.MODELS_DIR || undefined,
  })
  for (const note of result.notes) console.log(`note: ${note}`)
  console.log(result.summary)
  console.log(describeFigures(result.figures))
  console.log(`phases: ${result.phases.map(([what, seconds]) => `${what} ${seconds.toFixed(1)} s`).join(', ')}`)
  console.log(`wrote ${result.dir} in ${result.seconds.toFixed(1)} s; the server serves it from its next start`)
} catch (e) {
  if (!(e instanceof OnnxImportError)) throw e
  console.error(`model:import: ${e.message}\nnothing was written`)
  process.exit(1)
}
