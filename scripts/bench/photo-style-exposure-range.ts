/**
 * The tone range of the CIFAR-10 training pictures that src/image/exposure.ts leaves alone: for
 * each statistic of src/image/exposure.ts tonesOf (black point and white point of the
 * luminance), its median over the 50,000 training pictures and the range the middle RANGE_SHARE
 * of them span. Prints the TRAINING_TONES literal that exposure.ts holds, and checks it against
 * the one there: how many training and test pictures the exposure step would touch with these
 * ranges, and (the test split, plaintext forward pass of the shipped model) how many of the
 * touched test pictures the model answers right with and without the correction.
 *
 *   node --import tsx scripts/bench/photo-style-exposure-range.ts [--model cifar10-cnn] [--out docs/benchmarks/photo-styles/exposure-range.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadCifar10 } from '../../src/datasets'
import { loadModelDir, MODELS_DIR } from '../../src/datasets/model-files'
import { correctExposure, exposureCurve, RANGE_SHARE, TAIL_PERCENT, tonesOf, TRAINING_TONES, type ToneRange, type Tones } from '../../src/image/exposure'
import { argmax, forward, normalise } from '../../src/model/forward'
import { helpIfAsked } from '../help'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({
  options: { model: { type: 'string', default: 'cifar10-cnn' }, out: { type: 'string', default: 'docs/benchmarks/photo-styles/exposure-range.json' } },
})
const KEYS = ['black', 'white'] as const
const SIZE = 32 * 32 * 3
const { train, test } = loadCifar10({ splits: ['train', 'test'] })
const raster = (images: Uint8Array, i: number) => ({ width: 32, height: 32, channels: 3, data: images.subarray(i * SIZE, (i + 1) * SIZE) })

const tones: Record<keyof Tones, number[]> = { black: [], white: [] }
for (let i = 0; i < train.count; i++) {
  const t = tonesOf(raster(train.images, i))
  for (const k of KEYS) tones[k].push(t[k])
}
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
const tail = (1 - RANGE_SHARE) / 2
const derived = Object.fromEntries(
  KEYS.map((k) => {
    const s = tones[k].sort((a, b) => a - b)
    return [k, { lo: quantile(s, tail), typical: quantile(s, 0.5), hi: quantile(s, 1 - tail) }]
  }),
) as Record<keyof Tones, ToneRange>
const quantiles = Object.fromEntries(KEYS.map((k) => [k, Object.fromEntries([0.001, 0.005, 0.01, 0.02, 0.05, 0.5, 0.95, 0.98, 0.99, 0.995, 0.999].map((q) => [q, quantile(tones[k], q)]))]))
console.log(`CIFAR-10 training split, ${train.count} pictures; percentiles ${TAIL_PERCENT} and ${100 - TAIL_PERCENT} of the luminance; middle ${RANGE_SHARE * 100}%:`)
console.log(`export const TRAINING_TONES = ${JSON.stringify(derived).replace(/"/g, '')}`)
console.log('quantiles over the pictures:', JSON.stringify(quantiles))
const same = KEYS.every((k) => (['lo', 'typical', 'hi'] as const).every((f) => derived[k][f] === TRAINING_TONES[k][f]))
console.log(same ? 'src/image/exposure.ts holds these ranges' : 'src/image/exposure.ts holds OTHER ranges: copy the line above into it')

const touched = (images: Uint8Array, count: number) => Array.from({ length: count }, (_, i) => i).filter((i) => exposureCurve(tonesOf(raster(images, i)), derived) !== undefined)
const trainTouched = touched(train.images, train.count)
const testTouched = touched(test.images, test.count)
const { manifest: m, weights: w } = await loadModelDir(join(MODELS_DIR, args.model))
const predict = (r: { data: Uint8Array }) => argmax(forward(m, w, normalise(r.data, m)))
let rightBefore = 0
let rightAfter = 0
let changed = 0
for (const i of testTouched) {
  const before = predict(raster(test.images, i))
  const after = predict(correctExposure(raster(test.images, i), derived))
  if (before === test.labels[i]) rightBefore++
  if (after === test.labels[i]) rightAfter++
  if (after !== before) changed++
}
console.log(`touched: ${trainTouched.length} of ${train.count} training pictures, ${testTouched.length} of ${test.count} test pictures`)
console.log(`touched test pictures: ${rightBefore} right as they are, ${rightAfter} right corrected, ${changed} answers changed`)

mkdirSync(dirname(args.out), { recursive: true })
const record = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`,
  command: `node --import tsx scripts/bench/photo-style-exposure-range.ts ${process.argv.slice(2).join(' ')}`.trim(),
  model: args.model,
  contentHash: m.contentHash,
  statistics: `luminance percentiles ${TAIL_PERCENT} and ${100 - TAIL_PERCENT} of each 32x32 picture`,
  rangeShare: RANGE_SHARE,
  trainingTones: derived,
  quantilesOverTrainingPictures: quantiles,
  touched: { train: trainTouched.length, trainCount: train.count, test: testTouched.length, testCount: test.count, testIndices: testTouched },
  touchedTestPictures: { rightAsTheyAre: rightBefore, rightCorrected: rightAfter, answersChanged: changed },
}
writeFileSync(args.out, JSON.stringify(record, null, 2) + '\n')
console.log(`wrote ${args.out}`)
