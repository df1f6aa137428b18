/**
 * node --import tsx scripts/ensemble-models.ts --out server/models/NAME DIR_A DIR_B [...]
 *
 * Averages the logits of several conv -> square -> dense models that share the
 * first layer's geometry by concatenating their filters into one wider network.
 * The ensemble is exact and runs as a single encrypted model.
 */
import { parseArgs } from 'node:util'
import { loadModelDir } from '../server/model-files'
import { convShape } from '../src/model/geometry'
import { firstConvGeometry } from '../src/model/forward'
import { tensor, type Conv2dLayer, type DenseLayer } from '../src/model/manifest'
import { exportModel } from './export-model'

const { values, positionals } = parseArgs({
  options: { out: { type: 'string' }, name: { type: 'string', default: 'mnist-cnn' } },
  allowPositionals: true,
})
if (positionals.length < 2 || !values.out) throw new Error('usage: ensemble-models --out DIR DIR_A DIR_B [...]')
const models = await Promise.all(positionals.map((d) => loadModelDir(d)))
const first = models[0].manifest
const geometry = firstConvGeometry(first)
const { positions, taps } = convShape(geometry)
const units = first.classes.length
const parts = models.map(({ manifest, weights }) => {
  const conv = manifest.layers[0] as Conv2dLayer
  const dense = manifest.layers[2] as DenseLayer
  if (JSON.stringify(firstConvGeometry(manifest)) !== JSON.stringify(geometry)) throw new Error('geometries differ')
  const f = conv.filters
  return {
    f,
    convW: tensor(weights, conv.weights, taps * f),
    convB: tensor(weights, conv.bias, f),
    denseW: tensor(weights, dense.weights, positions * f * units),
    denseB: tensor(weights, dense.bias, units),
    training: manifest.training,
  }
})
const F = parts.reduce((n, p) => n + p.f, 0)
const share = 1 / parts.length
const convW = new Float32Array(taps * F)
const convB = new Float32Array(F)
const denseW = new Float32Array(positions * F * units)
const denseB = new Float32Array(units)
let offset = 0
for (const p of parts) {
  for (let c = 0; c < p.f; c++) {
    convB[offset + c] = p.convB[c]
    for (let t = 0; t < taps; t++) convW[t * F + offset + c] = p.convW[t * p.f + c]
    for (let q = 0; q < positions; q++)
      for (let o = 0; o < units; o++) denseW[(q * F + offset + c) * units + o] = share * p.denseW[(q * p.f + c) * units + o]
  }
  for (let o = 0; o < units; o++) denseB[o] += share * p.denseB[o]
  offset += p.f
}
const conv0 = first.layers[0] as Conv2dLayer
await exportModel({
  out: values.out,
  name: values.name!,
  description: `Handwritten digits (MNIST): ensemble of ${parts.length} conv 5x5/${geometry.stride} -> x^2 -> dense models as one network of ${F} filters`,
  classes: first.classes,
  input: first.input,
  geometry,
  filters: F,
  packing: conv0.packing ?? 'patches',
  tensors: { convW, convB, denseW, denseB },
  training: { ensembleOf: parts.map((p) => p.training) },
})
