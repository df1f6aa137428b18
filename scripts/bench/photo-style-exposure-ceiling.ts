/**
 * How far a tone correction can bring exposed photos back, and what a rule that guesses
 * overexposure from a picture's own tones costs on ordinary pictures. For each exposure style of
 * ./photo-style-variants.ts (the default set's over- and underexposed ones and the held-out
 * exposures), on the pictures of npm run bench:photo-styles (test image k * step + offset), the
 * plaintext model's right answers with:
 * - app: the page's photo preprocessing as it is (src/image: margins, crop, resampling, exposure);
 * - oracle: the model input before the exposure step with the exact inverse of the style's own
 *   exposure applied, which only the simulation knows (clipped values stay at the clip level);
 * - levels at each gate `black:clipped`: where the picture's black point exceeds `black` and its
 *   share of clipped highlights (luminance >= CLIP) exceeds `clipped`, a levels curve taking the
 *   black point to the training pictures' typical black point and white to the typical luminance
 *   at the percentile that the clipped share leaves below it (where a typical picture's
 *   brightest `clipped` share begins); elsewhere the page's exposure step. For a picture of
 *   typical tones exposed by a gain and a lift and clipped, that is the inverse of the exposure.
 * And for each gate: how many of the 10,000 CIFAR-10 test originals, through the page's
 * preprocessing, it gives another model input than the page does, and how many of the model's
 * answers change. Typical values: the median, over the CIFAR-10 training pictures, of each
 * percentile of their luminance.
 *
 *   node --import tsx scripts/bench/photo-style-exposure-ceiling.ts [--images 100] [--offset 0] [--styles overexposed,...] [--gates 90:0.1,...] [--label exposure-ceiling] [--out docs/benchmarks/photo-styles]
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadCifar10 } from '../../src/datasets'
import { loadModelDir, MODELS_DIR } from '../../src/datasets/model-files'
import { overWhite, rgbOf } from '../../src/image/alpha'
import { correctExposure, tonesOf } from '../../src/image/exposure'
import { luminance, type Rgba } from '../../src/image/ink'
import { objectCrop } from '../../src/image/photo-frame'
import { resample, type Raster } from '../../src/image/resize'
import { argmax, forward, normalise } from '../../src/model/forward'
import { helpIfAsked } from '../help'
import { decodeImageFile } from '../training/folder/image-file'
import { EXPOSURES, exposureOf, HELD_OUT_STYLES, variant, type Exposure, type Style } from './photo-style-variants'
import { labelledResult } from './labelled-result'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '100' },
    offset: { type: 'string', default: '0' },
    styles: { type: 'string', default: [...Object.keys(EXPOSURES), ...HELD_OUT_STYLES].join(',') },
    gates: { type: 'string', default: '105:0.1,90:0.1,80:0.15,70:0.2,60:0.3' },
    label: { type: 'string' },
    out: { type: 'string', default: 'docs/benchmarks/photo-styles' },
  },
})
/** A luminance at or above this counts as a clipped highlight. */
const CLIP = 250
const SIZE = 32 * 32 * 3
const styles = args.styles.split(',').map((s) => {
  if (!exposureOf(s as Style)) throw new Error(`${s} is not an exposure style`)
  return s as Style
})
const gates = args.gates.split(',').map((g) => {
  const [black, clipped] = g.split(':').map(Number)
  return { name: g, black, clipped }
})
type Gate = (typeof gates)[number]

const { manifest: m, weights: w } = await loadModelDir(join(MODELS_DIR, 'cifar10-cnn'))
const { train, test } = loadCifar10({ splits: ['train', 'test'] })
const raster = (images: Uint8Array, i: number): Raster => ({ width: 32, height: 32, channels: 3, data: images.subarray(i * SIZE, (i + 1) * SIZE) })
const predict = (r: Raster) => argmax(forward(m, w, normalise(r.data, m)))

/** Percentiles 0..100 of the rounded luminance (percentile p: the smallest v with more than p% of the values <= v), and the share of values >= CLIP. */
function luminanceOf(r: Raster): { percentiles: number[]; clipped: number } {
  const hist = new Uint32Array(256)
  const n = r.width * r.height
  for (let i = 0; i < n; i++) hist[Math.round(luminance(r.data[i * 3], r.data[i * 3 + 1], r.data[i * 3 + 2]))]++
  const percentiles: number[] = []
  let v = 0
  let seen = hist[0]
  for (let p = 0; p <= 100; p++) {
    while (v < 255 && seen <= (p / 100) * n) seen += hist[++v]
    percentiles.push(v)
  }
  return { percentiles, clipped: hist.subarray(CLIP).reduce((a, b) => a + b, 0) / n }
}

const perPicture = Array.from({ length: train.count }, (_, i) => luminanceOf(raster(train.images, i)).percentiles)
const TYPICAL = Array.from({ length: 101 }, (_, p) => perPicture.map((q) => q[p]).sort((a, b) => a - b)[train.count >> 1])
/** The typical luminance at fraction q (0..1) of the pictures' values, interpolated between percentiles. */
const typicalAt = (q: number) => {
  const x = Math.min(100, Math.max(0, q * 100))
  const i = Math.min(99, Math.floor(x))
  return TYPICAL[i] + (x - i) * (TYPICAL[i + 1] - TYPICAL[i])
}

const mapped = (r: Raster, f: (v: number) => number): Raster => {
  const table = Uint8Array.from({ length: 256 }, (_, v) => Math.round(Math.min(255, Math.max(0, f(v)))))
  return { ...r, data: r.data.map((v) => table[v]) }
}
const inverse = (e: Exposure) => ('gamma' in e ? (v: number) => 255 * (v / 255) ** e.gamma : (v: number) => (v - e.lift) / e.gain)

/** The gate's levels curve on the model input before the exposure step, or the page's exposure step where the gate is closed. */
function gated(small: Raster, gate: Gate): Raster {
  const black = tonesOf(small).black
  const { clipped } = luminanceOf(small)
  if (!(black > gate.black && clipped > gate.clipped && black < 255)) return correctExposure(small)
  const [toLo, toHi] = [TYPICAL[1], typicalAt(1 - clipped)]
  return mapped(small, (v) => toLo + ((v - black) * (toHi - toLo)) / (255 - black))
}

/** The page's photo preprocessing up to (not including) the exposure step, for a 32x32 model. */
const beforeExposure = (img: Rgba) => resample(objectCrop(rgbOf(overWhite(img)), 1, 32), 32, 32)

const t0 = Date.now()
const count = Number(args.images)
const step = Math.floor(test.count / count)
const offset = Number(args.offset)
if (!Number.isInteger(offset) || offset < 0 || offset >= step) throw new Error(`--offset ${args.offset}: an integer from 0 to ${step - 1}`)
const referenceRight = Array.from({ length: count }, (_, k) => predict(raster(test.images, k * step + offset)) === test.labels[k * step + offset])
const results: Record<string, { n: number; plaintextOriginalsCorrect: number; app: number; oracle: number; gates: Record<string, { right: number; touched: number }> }> = {}
for (const style of styles) {
  const s = (results[style] = { n: 0, plaintextOriginalsCorrect: 0, app: 0, oracle: 0, gates: Object.fromEntries(gates.map((g) => [g.name, { right: 0, touched: 0 }])) })
  for (let k = 0; k < count; k++) {
    const i = k * step + offset
    const label = test.labels[i]
    const small = beforeExposure(decodeImageFile(variant(style, raster(test.images, i).data, k)))
    const app = correctExposure(small)
    const appAnswer = predict(app)
    s.n++
    if (referenceRight[k]) s.plaintextOriginalsCorrect++
    if (appAnswer === label) s.app++
    if (predict(mapped(small, inverse(exposureOf(style)!))) === label) s.oracle++
    for (const g of gates) {
      const out = gated(small, g)
      const same = out.data.every((v, j) => v === app.data[j])
      if (!same) s.gates[g.name].touched++
      if ((same ? appAnswer : predict(out)) === label) s.gates[g.name].right++
    }
  }
}

const originals = Object.fromEntries(gates.map((g) => [g.name, { touched: 0, answersChanged: 0, rightAsThePageHasThem: 0, rightGated: 0 }]))
for (let i = 0; i < test.count; i++) {
  const data = new Uint8ClampedArray(32 * 32 * 4)
  for (let p = 0; p < 32 * 32; p++) data.set([...test.images.subarray(i * SIZE + p * 3, i * SIZE + p * 3 + 3), 255], p * 4)
  const small = beforeExposure({ width: 32, height: 32, data })
  const app = correctExposure(small)
  let appAnswer: number | undefined
  for (const g of gates) {
    const out = gated(small, g)
    if (out.data.every((v, j) => v === app.data[j])) continue
    const o = originals[g.name]
    appAnswer ??= predict(app)
    const answer = predict(out)
    o.touched++
    if (answer !== appAnswer) o.answersChanged++
    if (appAnswer === test.labels[i]) o.rightAsThePageHasThem++
    if (answer === test.labels[i]) o.rightGated++
  }
}

console.log(`cifar10-cnn, ${count} test pictures (k * ${step} + ${offset}), ${((Date.now() - t0) / 1000).toFixed(0)} s; right answers (gates: right/touched)`)
console.log(['style'.padEnd(18), 'originals', 'app', 'oracle', ...gates.map((g) => g.name.padStart(10))].join('  '))
for (const [style, r] of Object.entries(results))
  console.log([style.padEnd(18), String(r.plaintextOriginalsCorrect).padStart(9), String(r.app).padStart(3), String(r.oracle).padStart(6), ...gates.map((g) => `${r.gates[g.name].right}/${r.gates[g.name].touched}`.padStart(10))].join('  '))
for (const g of gates) {
  const o = originals[g.name]
  console.log(`gate ${g.name}: ${o.touched} of ${test.count} test originals get another input, ${o.answersChanged} answers change, right ${o.rightAsThePageHasThem} -> ${o.rightGated}`)
}

if (args.label) {
  const { file, date, machine } = labelledResult(args.out, args.label)
  const record = {
    date,
    machine,
    command: `node --import tsx scripts/bench/photo-style-exposure-ceiling.ts ${process.argv.slice(2).join(' ')}`.trim(),
    model: 'cifar10-cnn',
    contentHash: m.contentHash,
    pictures: { count, testIndices: `k * ${step}${offset ? ` + ${offset}` : ''} for k in 0..${count - 1}` },
    clipLevel: CLIP,
    typicalLuminancePercentiles: TYPICAL,
    styles: results,
    testOriginals: { count: test.count, gates: originals },
  }
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n')
  console.log(`wrote ${file}`)
}
