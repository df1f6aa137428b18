/**
 * The page's photo preprocessing on photos as people take them: CIFAR-10 test pictures (never
 * seen in training) saved in several styles (./photo-style-variants.ts), each file decoded as the
 * page decodes it (scripts/training/folder/image-file.ts: EXIF orientation applied, scaled to the
 * page's working size), preprocessed by src/image's preprocessFor and classified by the plaintext
 * forward pass of the shipped model (or of the model in --model-dir DIR, such as a candidate not
 * shipped yet). Compared, per style, with the plaintext model on the original 32x32 pictures. The
 * encrypted evaluation agrees with the plaintext forward pass on the same input (npm run bench
 * measures that agreement), so the plaintext pass on the preprocessed input stands for the app's
 * answer.
 *
 *   npm run bench:photo-styles -- [--images 100] [--offset 0] [--styles originals,screenshot,...] [--held-out] [--model cifar10-cnn | --model-dir DIR] [--label after] [--out docs/benchmarks/photo-styles]
 *
 * Picture k of the set is test image k * floor(10000 / images) + offset: another offset (such as
 * 50) gives pictures a rule was not designed on. --held-out adds the held-out exposures of
 * ./photo-style-variants.ts (other gains and lifts, a gamma brightening) to the styles. Writes
 * <out>/<date>-<label>.json when --label is given.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadCifar10 } from '../../src/datasets'
import { loadModelDir, MODELS_DIR } from '../../src/datasets/model-files'
import { preprocessFor } from '../../src/image/pipeline'
import { argmax, forward, normalise } from '../../src/model/forward'
import { helpIfAsked } from '../help'
import { decodeImageFile } from '../training/folder/image-file'
import { HELD_OUT_STYLES, STYLES, variant, type Style } from './photo-style-variants'
import { labelledResult } from './labelled-result'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '100' },
    offset: { type: 'string', default: '0' },
    'held-out': { type: 'boolean', default: false },
    model: { type: 'string', default: 'cifar10-cnn' },
    'model-dir': { type: 'string' },
    styles: { type: 'string', default: STYLES.join(',') },
    label: { type: 'string' },
    out: { type: 'string', default: 'docs/benchmarks/photo-styles' },
  },
})

interface StyleResult {
  n: number
  /** the plaintext model on the original 32x32 pictures: answers equal to the true label */
  plaintextOriginalsCorrect: number
  /** the page's pipeline on the styled files: answers equal to the true label */
  appCorrect: number
  /** the page's answer equal to the plaintext answer on the original */
  agreement: number
  /** the picture numbers (k) whose answer differs from the plaintext answer on the original */
  changed: number[]
}

const modelDir = args['model-dir'] ?? join(MODELS_DIR, args.model)
const { manifest: m, weights: w } = await loadModelDir(modelDir)
const modelName = args['model-dir'] ? `${m.name}@${m.version} (${args['model-dir']})` : args.model
const test = loadCifar10({ splits: ['test'] }).test
const count = Number(args.images)
const step = Math.floor(test.count / count)
const size = 32 * 32 * 3
const offset = Number(args.offset)
if (!Number.isInteger(offset) || offset < 0 || offset >= step) throw new Error(`--offset ${args.offset}: an integer from 0 to ${step - 1}`)
const known: readonly string[] = [...STYLES, ...HELD_OUT_STYLES]
const styles = [...new Set([...args.styles.split(','), ...(args['held-out'] ? HELD_OUT_STYLES : [])])].map((s) => {
  if (!known.includes(s)) throw new Error(`unknown style ${s}; the styles: ${known.join(', ')}`)
  return s as Style
})
const results = Object.fromEntries(styles.map((s) => [s, { n: 0, plaintextOriginalsCorrect: 0, appCorrect: 0, agreement: 0, changed: [] as number[] }])) as Record<Style, StyleResult>
const t0 = Date.now()
for (let k = 0; k < count; k++) {
  const i = k * step + offset
  const rgb32 = test.images.subarray(i * size, (i + 1) * size)
  const label = test.labels[i]
  const reference = argmax(forward(m, w, normalise(rgb32, m)))
  for (const style of styles) {
    const r = preprocessFor(m.input, decodeImageFile(variant(style, rgb32, k)))
    const answer = r.ok ? argmax(forward(m, w, normalise(r.pixels, m))) : -1
    const s = results[style]
    s.n++
    if (reference === label) s.plaintextOriginalsCorrect++
    if (answer === label) s.appCorrect++
    if (answer === reference) s.agreement++
    else s.changed.push(k)
  }
}

const total = styles.reduce(
  (a, s) => ({ n: a.n + results[s].n, plaintextOriginalsCorrect: a.plaintextOriginalsCorrect + results[s].plaintextOriginalsCorrect, appCorrect: a.appCorrect + results[s].appCorrect, agreement: a.agreement + results[s].agreement }),
  { n: 0, plaintextOriginalsCorrect: 0, appCorrect: 0, agreement: 0 },
)
const pct = (x: number, n: number) => ((100 * x) / n).toFixed(1).padStart(5)
console.log(`${modelName}, ${count} test pictures, ${((Date.now() - t0) / 1000).toFixed(0)} s`)
console.log('style          n  plaintext-originals  app   agreement')
for (const s of styles) {
  const r = results[s]
  console.log(`${s.padEnd(13)} ${String(r.n).padStart(3)}  ${pct(r.plaintextOriginalsCorrect, r.n)}%              ${pct(r.appCorrect, r.n)}%  ${pct(r.agreement, r.n)}%`)
}
console.log(`${'overall'.padEnd(13)} ${String(total.n).padStart(3)}  ${pct(total.plaintextOriginalsCorrect, total.n)}%              ${pct(total.appCorrect, total.n)}%  ${pct(total.agreement, total.n)}%`)

if (args.label) {
  const { file, date, machine } = labelledResult(args.out, args.label)
  const record = {
    date,
    machine,
    command: `npm run bench:photo-styles -- ${process.argv.slice(2).join(' ')}`,
    model: modelName,
    contentHash: m.contentHash,
    pictures: { count, testIndices: `k * ${step}${offset ? ` + ${offset}` : ''} for k in 0..${count - 1}` },
    styles: results,
    overall: total,
  }
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n')
  console.log(`wrote ${file}`)
}
