/**
 * npm run train:measure-split -- --model DIR --prepared P [--encrypted N] [--json FILE]
 *
 * How a model trained with `npm run train:torch -- --data ... --prepared P` does on its test
 * split along the served path: the page's inputs for those files (kept in P), classified in
 * plaintext and encrypted as the server evaluates them (./test-split.ts); prints both accuracies
 * and how many predictions agree, and with --json writes them as a result file.
 */
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { loadModelDir } from '../../../src/datasets/model-files'
import { helpIfAsked } from '../../help'
import { accuracy, encryptedPredictions, plaintextPredictions, readPrepared, testSplit } from './test-split'

helpIfAsked(import.meta.url)
const { values } = parseArgs({ options: { model: { type: 'string' }, prepared: { type: 'string' }, encrypted: { type: 'string' }, json: { type: 'string' } } })
if (!values.model || !values.prepared) throw new Error('usage: npm run train:measure-split -- --model DIR --prepared P [--encrypted N] [--json FILE]')
const { manifest, weights } = await loadModelDir(values.model)
const split = testSplit(readPrepared(values.prepared))
const plain = plaintextPredictions(manifest, weights, split.images)
const n = Math.min(split.images.length, Number(values.encrypted ?? split.images.length))
const labels = split.labels.slice(0, n)
console.log(`${manifest.name}: plaintext accuracy on the ${split.images.length} test images ${accuracy(plain, split.labels).toFixed(4)}; encrypting ${n} ...`)
const t0 = performance.now()
const enc = await encryptedPredictions(manifest, weights, split.images.slice(0, n), (done) => {
  if (done % 20 === 0) console.log(`  ${done}/${n} encrypted`)
})
const seconds = (performance.now() - t0) / 1000
const result = {
  model: manifest.name,
  classes: manifest.classes,
  he: { polyModulusDegree: manifest.he.polyModulusDegree, coeffModulusBits: manifest.he.coeffModulusBits },
  testImages: split.images.length,
  plaintextAccuracy: accuracy(plain, split.labels),
  encryptedImages: n,
  plaintextAccuracyOnEncrypted: accuracy(plain.slice(0, n), labels),
  encryptedAccuracy: accuracy(enc, labels),
  agreeingPredictions: enc.filter((p, i) => p === plain[i]).length,
  encryptedSeconds: Math.round(seconds * 10) / 10,
  machine: `${cpus().length} vCPU, one thread`,
}
console.log(`encrypted accuracy ${result.encryptedAccuracy.toFixed(4)} vs plaintext ${result.plaintextAccuracyOnEncrypted.toFixed(4)} on the same ${n} images; ${result.agreeingPredictions}/${n} predictions agree; ${seconds.toFixed(0)} s`)
if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2) + '\n')
