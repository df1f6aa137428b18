/**
 * The round trip: a shipped model written as ONNX runs in ONNX Runtime with the logits of the
 * manifest's forward pass (mnist-cnn and fashion-cnn on official test images, cifar10-cnn on
 * sample images), and importing the written file gives back the same layers and weights, bit for bit.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadModelDir, MODELS_DIR } from '../../../src/datasets/model-files'
import { loadFashionMnistSplit, loadMnistSplit, type Split } from '../../../src/datasets'
import { argmax, forward, normalise } from '../../../src/model/forward'
import type { ModelManifest, Weights } from '../../../src/model/manifest'
import { importOnnx } from './import-model'
import { checkAgainstOrt, ortLogits, RELATIVE_TOLERANCE } from './reference-check'
import { manifestToOnnx } from './write-onnx'

const scratch = mkdtempSync(join(tmpdir(), 'blindfold-onnx-export-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
const IMAGES = 1000

/** Writes the shipped model `name` as ONNX and checks ORT's logits against the forward pass on the first IMAGES official test images. */
async function exportedMatchesOrt(name: string, split: Split) {
  const { manifest, weights } = await loadModelDir(join(MODELS_DIR, name))
  const file = join(scratch, `${name}.onnx`)
  writeFileSync(file, manifestToOnnx(manifest, weights))
  const size = manifest.input.height * manifest.input.width * manifest.input.channels
  const inputs = Array.from({ length: IMAGES }, (_, i) => normalise(split.images.subarray(i * size, (i + 1) * size), manifest))
  const ort = await ortLogits(file, manifest, inputs)
  let maxError = 0
  let maxLogit = 0
  let sameArgmax = 0
  inputs.forEach((x, i) => {
    const plain = forward(manifest, weights, x)
    plain.forEach((v, o) => {
      maxError = Math.max(maxError, Math.abs(v - ort[i][o]))
      maxLogit = Math.max(maxLogit, Math.abs(ort[i][o]))
    })
    if (argmax(plain) === argmax(ort[i])) sameArgmax++
  })
  expect(maxError).toBeLessThanOrEqual(RELATIVE_TOLERANCE * maxLogit)
  expect(sameArgmax).toBe(IMAGES)
  return { manifest, weights, file }
}

/** Imports `file` again as `name` and checks it gives the manifest's layers and weights, bit for bit. */
async function importsToTheSameWeights(file: string, name: string, manifest: ModelManifest, weights: Weights) {
  const { mean, std, preprocess } = manifest.input
  await importOnnx({ onnx: file, name, classes: manifest.classes, preprocess, mean, std, modelsDir: scratch, images: 4, encryptedImages: 1 })
  const again = await loadModelDir(join(scratch, name))
  const geometry = (m: ModelManifest) => m.layers.map(({ type, ...rest }) => ({ type, ...Object.fromEntries(Object.entries(rest).filter(([k]) => !['weights', 'bias', 'coefficients', 'packing'].includes(k))) }))
  expect(geometry(again.manifest)).toEqual(geometry(manifest))
  const tensorsOf = (m: ModelManifest, w: Weights) => m.weights.tensors.map((t) => Array.from(w.get(t.name)!))
  expect(tensorsOf(again.manifest, again.weights)).toEqual(tensorsOf(manifest, weights))
  return again
}

describe('model:export-onnx', () => {
  it(`writes mnist-cnn as ONNX that ONNX Runtime runs to the manifest's logits on ${IMAGES} official test images, and that imports to the same weights`, async () => {
    const { manifest, weights, file } = await exportedMatchesOrt('mnist-cnn', loadMnistSplit('test'))
    const again = await importsToTheSameWeights(file, 'mnist-again', manifest, weights)
    expect(again.manifest.layers[0]).toMatchObject({ kernel: 5, packing: 'image' })
  })

  it("writes cifar10-cnn (three convs, polynomials, a pool) as ONNX that ONNX Runtime runs to the manifest's logits", async () => {
    const { manifest, weights } = await loadModelDir(join(MODELS_DIR, 'cifar10-cnn'))
    const file = join(scratch, 'cifar10-cnn.onnx')
    writeFileSync(file, manifestToOnnx(manifest, weights))
    const f = await checkAgainstOrt(file, manifest, weights, { images: 8, encryptedImages: 0 })
    expect(f.maxError).toBeLessThanOrEqual(RELATIVE_TOLERANCE * f.maxLogit)
  })

  it(`writes fashion-cnn (a staggered pool and a bilinear read-out in standard ops) as ONNX that ONNX Runtime runs to the manifest's logits on ${IMAGES} official test images, and that imports to the same weights`, async () => {
    const { manifest, weights, file } = await exportedMatchesOrt('fashion-cnn', loadFashionMnistSplit('test'))
    const again = await importsToTheSameWeights(file, 'fashion-again', manifest, weights)
    expect(again.manifest.layers.slice(2)).toEqual([{ type: 'avgpool2d', size: 2, stagger: true }, expect.objectContaining({ type: 'dense', units: 80 }), { type: 'bilinear', units: 10 }])
  })
})
