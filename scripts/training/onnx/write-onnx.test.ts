/**
 * The round trip: a shipped model written as ONNX runs in ONNX Runtime with the logits of the
 * manifest's forward pass (mnist-cnn on official MNIST test images, cifar10-cnn on sample
 * images), and importing the written file gives back the same weights, bit for bit.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadModelDir, MODELS_DIR } from '../../../src/datasets/model-files'
import { loadMnistSplit } from '../../../src/datasets'
import { argmax, forward, normalise } from '../../../src/model/forward'
import { importOnnx } from './import-model'
import { checkAgainstOrt, ortLogits, RELATIVE_TOLERANCE } from './reference-check'
import { manifestToOnnx } from './write-onnx'

const scratch = mkdtempSync(join(tmpdir(), 'blindfold-onnx-export-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
const IMAGES = 1000

describe('model:export-onnx', () => {
  it(`writes mnist-cnn as ONNX that ONNX Runtime runs to the manifest's logits on ${IMAGES} official test images, and that imports to the same weights`, async () => {
    const { manifest, weights } = await loadModelDir(join(MODELS_DIR, 'mnist-cnn'))
    const file = join(scratch, 'mnist-cnn.onnx')
    writeFileSync(file, manifestToOnnx(manifest, weights))
    const test = loadMnistSplit('test')
    const inputs = Array.from({ length: IMAGES }, (_, i) => normalise(test.images.subarray(i * 784, (i + 1) * 784), manifest))
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

    const { mean, std, preprocess } = manifest.input
    await importOnnx({ onnx: file, name: 'mnist-again', classes: manifest.classes, preprocess, mean, std, modelsDir: scratch, images: 4, encryptedImages: 1 })
    const again = await loadModelDir(join(scratch, 'mnist-again'))
    expect(again.manifest.layers.map((l) => l.type)).toEqual(manifest.layers.map((l) => l.type))
    expect(again.manifest.layers[0]).toMatchObject({ kernel: 5, packing: 'image' })
    const tensorsOf = (m: typeof manifest, w: typeof weights) => m.weights.tensors.map((t) => Array.from(w.get(t.name)!))
    expect(tensorsOf(again.manifest, again.weights)).toEqual(tensorsOf(manifest, weights))
  })

  it("writes cifar10-cnn (three convs, polynomials, a pool) as ONNX that ONNX Runtime runs to the manifest's logits", async () => {
    const { manifest, weights } = await loadModelDir(join(MODELS_DIR, 'cifar10-cnn'))
    const file = join(scratch, 'cifar10-cnn.onnx')
    writeFileSync(file, manifestToOnnx(manifest, weights))
    const f = await checkAgainstOrt(file, manifest, weights, { images: 8, encryptedImages: 0 })
    expect(f.maxError).toBeLessThanOrEqual(RELATIVE_TOLERANCE * f.maxLogit)
  })

  it('refuses a staggered pool or a bilinear read-out, which have no ONNX counterpart', async () => {
    const { manifest, weights } = await loadModelDir(join(MODELS_DIR, 'fashion-cnn'))
    expect(() => manifestToOnnx(manifest, weights)).toThrow(/staggered pool has no ONNX counterpart/)
  })
})
