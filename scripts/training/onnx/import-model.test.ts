/**
 * Every supported fixture (made by ./make-fixtures.py with torch.onnx.export) imports, and the
 * imported model matches ONNX Runtime on the original file: logits in plaintext within 1e-4 of
 * the largest logit, the argmax under encryption (importOnnx checks both before it writes; the
 * figures are asserted here too). The CIFAR-sized network (seven levels at N = 16384) is checked
 * in plaintext here to keep the suite short; `npm run model:import` checks it under encryption. The written folder loads as the server loads it, and
 * `--samples` gives the folder the server's sample catalogue reads.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PNG } from 'pngjs'
import { afterAll, describe, expect, it } from 'vitest'
import { loadModelDir } from '../../../src/datasets/model-files'
import { readSamples } from '../../../server/routes/sample-catalog'
import { importOnnx } from './import-model'
import { RELATIVE_TOLERANCE } from './reference-check'

const FIXTURES = join(import.meta.dirname, 'fixtures')
const modelsDir = mkdtempSync(join(tmpdir(), 'blindfold-onnx-import-'))
afterAll(() => rmSync(modelsDir, { recursive: true, force: true }))

const classes = (n: number) => Array.from({ length: n }, (_, i) => `class ${i}`)

describe('model:import of each fixture matches ONNX Runtime', () => {
  it.each([
    ['grey-square-gemm', 3, ['conv2d', 'square', 'dense'], 'ink-on-background', 2],
    ['rgb-stride2-bn-pow-two-dense', 3, ['conv2d', 'square', 'avgpool2d', 'dense', 'dense'], 'photo', 2],
    ['two-convs-two-pools', 3, ['conv2d', 'avgpool2d', 'poly', 'conv2d', 'avgpool2d', 'dense'], 'photo', 2],
    ['pad-reshape-matmul-poly', 4, ['conv2d', 'avgpool2d', 'dense', 'poly', 'dense'], 'ink-on-background', 2],
    ['cifar-three-convs', 10, ['conv2d', 'square', 'conv2d', 'square', 'conv2d', 'square', 'dense'], 'photo', 0],
    ['grouped-depthwise', 3, ['conv2d', 'square', 'conv2d', 'poly', 'conv2d', 'dense'], 'photo', 0],
  ] as const)('%s', async (name, units, layers, preprocess, encryptedImages) => {
    const result = await importOnnx({ onnx: join(FIXTURES, `${name}.onnx`), name, classes: classes(units), preprocess, modelsDir, images: 6, encryptedImages })
    const f = result.figures
    expect(f.images).toBe(6)
    expect(f.maxError).toBeLessThanOrEqual(RELATIVE_TOLERANCE * f.maxLogit)
    expect(f.maxLogit).toBeGreaterThan(0)
    expect(f.encryptedImages).toBe(encryptedImages)
    expect(f.encryptedAgree).toBe(encryptedImages)
    const { manifest } = await loadModelDir(join(modelsDir, name))
    expect(manifest.layers.map((l) => l.type)).toEqual(layers)
    expect(manifest.classes).toEqual(classes(units))
    expect(manifest.input.preprocess).toBe(preprocess)
    if (name === 'grouped-depthwise') expect(manifest.layers.map((l) => (l.type === 'conv2d' ? (l.groups ?? 1) : undefined)).filter(Boolean)).toEqual([3, 6, 1])
  })
})

describe('--samples', () => {
  it('copies PNGs from class folders into the samples/ folder the server serves', async () => {
    const dir = join(modelsDir, 'my-photos')
    for (const [label, cls] of ['cats', 'dogs'].entries()) {
      mkdirSync(join(dir, cls), { recursive: true })
      const png = new PNG({ width: 16, height: 16 })
      png.data.fill(40 + 100 * label)
      writeFileSync(join(dir, cls, 'one.png'), PNG.sync.write(png))
      writeFileSync(join(dir, cls, 'notes.txt'), 'not an image')
    }
    const name = 'with-samples'
    await importOnnx({ onnx: join(FIXTURES, 'grey-square-gemm.onnx'), name, classes: ['cats', 'dogs', 'birds'], preprocess: 'photo', modelsDir, samples: dir, images: 2, encryptedImages: 1 })
    const index = JSON.parse(readFileSync(join(modelsDir, name, 'samples', 'index.json'), 'utf8')) as { samples: Array<{ file: string; label: number }> }
    expect(index.samples.map((s) => [s.file.replace(/-[0-9a-f]{12}\.png$/, ''), s.label])).toEqual([
      ['cats', 0],
      ['dogs', 1],
    ])
    const served = readSamples(join(modelsDir, name), name, 3)
    expect(served.list.samples).toHaveLength(2)
  })
})
