/**
 * The page's digit and garment preprocessing on files as people hand them over: official test
 * images (never seen in training) saved in several styles by the fixtures the tests use
 * (src/datasets/fixtures: the image at its own 28x28, enlarged on paper as PNG or JPEG, on tinted
 * paper, photographed on paper lit from one side, on a transparent sheet), each file decoded as
 * the page decodes it (scripts/training/folder/image-file.ts), preprocessed by src/image's
 * preprocessFor and classified by the plaintext forward pass of the shipped model. Compared, per
 * style, with the plaintext model on the official images. The encrypted evaluation agrees with the
 * plaintext forward pass on the same input (npm run bench measures that), so the plaintext pass
 * stands for the app's answer.
 *
 *   npm run bench:frame-styles -- [--model mnist-cnn | fashion-cnn] [--images 2000] [--label after] [--out docs/benchmarks/frame-styles]
 *
 * Uses test images 0 .. images - 1. Writes <out>/<date>-<model>-<label>.json when --label is given.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { imageAt, loadSplit } from '../../src/datasets'
import { encodeDigit, STYLES as DIGIT_STYLES } from '../../src/datasets/fixtures/digits'
import { garmentOnWhite } from '../../src/datasets/fixtures/photos'
import { loadModelDir, MODELS_DIR } from '../../src/datasets/model-files'
import { preprocessFor } from '../../src/image/pipeline'
import { argmax, forward, normalise } from '../../src/model/forward'
import { helpIfAsked } from '../help'
import { decodeImageFile } from '../training/folder/image-file'
import { labelledResult } from './labelled-result'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'fashion-cnn' },
    images: { type: 'string', default: '2000' },
    label: { type: 'string' },
    out: { type: 'string', default: 'docs/benchmarks/frame-styles' },
  },
})

type Render = (image: Uint8Array, i: number) => Uint8Array
/** a data set's own image as a 28x28 PNG, bright on black as stored: what the gallery's samples are */
const asStored: Render = (image, i) => encodeDigit(image, 'png-white-on-black', i).bytes
const STYLES: Record<string, Record<string, Render>> = {
  'mnist-cnn': {
    'as stored (28x28 PNG)': asStored,
    ...Object.fromEntries(DIGIT_STYLES.filter((style) => style !== 'png-white-on-black').map((style) => [style, (image: Uint8Array, i: number) => encodeDigit(image, style, i).bytes])),
  },
  'fashion-cnn': {
    'as stored (28x28 PNG)': asStored,
    'enlarged 56 px on paper (PNG)': (image) => garmentOnWhite(image, { side: 56, format: 'png' }),
    'enlarged 224 px on paper (PNG)': (image) => garmentOnWhite(image, { side: 224, format: 'png' }),
    'enlarged 200 px on paper (JPEG)': (image) => garmentOnWhite(image, { side: 200, format: 'jpeg', sheet: { width: 260, height: 330, x: 45, y: 110 } }),
    'enlarged 200 px, lit from one side (JPEG)': (image) => garmentOnWhite(image, { side: 200, format: 'jpeg', light: { from: 1, to: 0.6 } }),
    // the digits' renderer draws any 28x28 picture dark on the sheet, as garmentOnWhite does
    'on a sheet lying on a desk (JPEG)': (image, i) => encodeDigit(image, 'jpeg-sheet-on-desk', i).bytes,
  },
}

const styles = STYLES[args.model]
if (!styles) throw new Error(`--model ${args.model}: one of ${Object.keys(STYLES).join(', ')}`)
const { manifest: m, weights: w } = await loadModelDir(join(MODELS_DIR, args.model))
const test = loadSplit(m.dataset!, 'test')
const count = Math.min(test.count, Number(args.images))
const predict = (pixels: Uint8Array) => argmax(forward(m, w, normalise(pixels, m)))

const results: Record<string, { n: number; plaintextOriginalsCorrect: number; appCorrect: number; agreement: number }> = {}
const t0 = Date.now()
// the plaintext model on the official images, once for every style
const references = Array.from({ length: count }, (_, i) => predict(imageAt(test, i)))
for (const [style, render] of Object.entries(styles)) {
  const r = (results[style] = { n: 0, plaintextOriginalsCorrect: 0, appCorrect: 0, agreement: 0 })
  for (let i = 0; i < count; i++) {
    const image = imageAt(test, i)
    const reference = references[i]
    const out = preprocessFor(m.input, decodeImageFile(render(image, i)))
    const answer = out.ok ? predict(out.pixels) : -1
    r.n++
    if (reference === test.labels[i]) r.plaintextOriginalsCorrect++
    if (answer === test.labels[i]) r.appCorrect++
    if (answer === reference) r.agreement++
  }
}

const pct = (x: number, n: number) => ((100 * x) / n).toFixed(2).padStart(6)
console.log(`${args.model}, test images 0..${count - 1}, ${((Date.now() - t0) / 1000).toFixed(0)} s`)
console.log(`${'style'.padEnd(32)} plaintext-originals  app      agreement`)
for (const [style, r] of Object.entries(results)) console.log(`${style.padEnd(32)} ${pct(r.plaintextOriginalsCorrect, r.n)}%             ${pct(r.appCorrect, r.n)}%  ${pct(r.agreement, r.n)}%`)

if (args.label) {
  const { file, date, machine } = labelledResult(args.out, `${args.model}-${args.label}`)
  const record = {
    date,
    machine,
    command: `npm run bench:frame-styles -- ${process.argv.slice(2).join(' ')}`,
    model: `${m.name}@${m.version}`,
    contentHash: m.contentHash,
    testIndices: `0..${count - 1}`,
    styles: results,
  }
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n')
  console.log(`wrote ${file}`)
}
