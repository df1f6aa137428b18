// Request/response byte sizes: 20 different MNIST test images, 20 encryptions of one image, and two extremes.
// Run: npm run bench:wire-sizes
import SEAL from 'node-seal'
import { loadMnistSplit as loadMnist } from '../../src/datasets'
import { loadModelDir, MODELS_DIR } from '../../src/datasets/model-files'
import { normalise } from '../../src/model/forward'
import { publicModel } from '../../src/he/public-model'
import { ModelEvaluator } from '../../src/he/evaluator'
import { KeyOwner } from '../../src/he/key-owner'
import { helpIfAsked } from '../help'
helpIfAsked(import.meta.url)

const { manifest, weights } = await loadModelDir(`${MODELS_DIR}/mnist-cnn`)
const owner = await KeyOwner.create(publicModel(manifest), await SEAL())
const evaluator = await ModelEvaluator.create(manifest, weights, await SEAL())
const keys = evaluator.loadKeys(owner.evaluationKeys.slice())
const test = loadMnist('test')
const image = (i: number) => normalise(test.images.subarray(i * 784, i * 784 + 784), manifest)
const measure = (x: Float64Array) => {
  const req = owner.encrypt(x)
  const res = evaluator.classify(keys, req.slice())
  return { req: req.length, res: res.length }
}
const stats = (name: string, rows: Array<{ req: number; res: number }>) => {
  const r = rows.map((s) => s.req)
  const s = rows.map((s) => s.res)
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length
  const sd = (v: number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)))
  const f = (v: number[]) => `min ${Math.min(...v)} max ${Math.max(...v)} (spread ${Math.max(...v) - Math.min(...v)}, mean ${mean(v).toFixed(0)}, sd ${sd(v).toFixed(0)})`
  console.log(`${name.padEnd(34)} n=${rows.length}\n  request  ${f(r)}\n  response ${f(s)}`)
  return rows
}
console.log(`model ${manifest.name}, evaluation keys ${owner.evaluationKeys.length} bytes`)
const different = stats('20 different images (test 0..19)', Array.from({ length: 20 }, (_, i) => measure(image(i))))
const same = stats('20 encryptions of test image 0', Array.from({ length: 20 }, () => measure(image(0))))
const blank = normalise(new Uint8Array(784), manifest)
const full = normalise(new Uint8Array(784).fill(255), manifest)
const extremes = stats('5 blank + 5 all-white images', [...Array.from({ length: 5 }, () => measure(blank)), ...Array.from({ length: 5 }, () => measure(full))])
stats('all 50', [...different, ...same, ...extremes])
