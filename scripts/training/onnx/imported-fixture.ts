/**
 * For the tests that serve an imported model (the API, the docs-only client, the page): a
 * temporary models folder holding links to shipped models (server/test-support/processes.ts)
 * and one committed ONNX fixture imported into it by the importer itself, as
 * `MODELS_DIR=DIR npm run model:import` would; and ONNX Runtime's answer on the original file,
 * the reference those tests compare with.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PNG } from 'pngjs'
import { loadModelDir, type ModelFiles } from '../../../src/datasets/model-files'
import type { ModelManifest, Preprocess } from '../../../src/model/manifest'
import { argmax, normalise } from '../../../src/model/forward'
import { modelsDirWith } from '../../../server/test-support/processes'
import { importOnnx, type ImportResult } from './import-model'
import { ortLogits, sampleImages } from './reference-check'

export const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url))

export interface ImportedFixture {
  /** the models folder, for MODELS_DIR */
  dir: string
  /** the .onnx file the model was imported from */
  onnx: string
  model: ModelFiles
  result: ImportResult
  remove(): void
}

export interface FixtureOptions {
  classes: string[]
  preprocess: Preprocess
  /** the served name; the fixture's file name by default */
  name?: string
  /** shipped models (folders under server/models) served beside it */
  shipped?: string[]
  /** a folder of labelled PNGs for `--samples` */
  samples?: string
  /** images the importer checks under encryption (its default when absent) */
  encryptedImages?: number
}

/** Imports `fixtures/<fixture>.onnx` into a fresh models folder; remove() deletes the folder. */
export async function importFixture(fixture: string, o: FixtureOptions): Promise<ImportedFixture> {
  const onnx = join(FIXTURES, `${fixture}.onnx`)
  const folder = modelsDirWith(o.shipped ?? [])
  try {
    const result = await importOnnx({ onnx, name: o.name ?? fixture, classes: o.classes, preprocess: o.preprocess, samples: o.samples, modelsDir: folder.dir, encryptedImages: o.encryptedImages })
    return { dir: folder.dir, onnx, model: await loadModelDir(result.dir), result, remove: folder.remove }
  } catch (e) {
    folder.remove()
    throw e
  }
}

/** ONNX Runtime's class for each image (8-bit pixels, HWC, as the page and the clients send them). */
export async function ortClasses(onnx: string, manifest: ModelManifest, images: ArrayLike<number>[]): Promise<number[]> {
  const logits = await ortLogits(onnx, manifest, images.map((pixels) => normalise(pixels, manifest)))
  return logits.map(argmax)
}

/**
 * A folder of labelled RGB pictures in the ImageFolder layout (`<dir>/<class>/<n>.png`, seeded
 * and smooth, `side` pixels square), as `--samples` takes them; the caller removes it.
 */
export function writePictureFolder(classes: string[], side: number, perClass = 2): string {
  const dir = mkdtempSync(join(tmpdir(), 'blindfold-pictures-'))
  const shape = { input: { height: side, width: side, channels: 3 } } as ModelManifest
  classes.forEach((cls, label) => {
    mkdirSync(join(dir, cls))
    sampleImages(shape, perClass, 100 + label).forEach((rgb, n) => {
      const png = new PNG({ width: side, height: side })
      for (let i = 0; i < side * side; i++) png.data.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * i)
      writeFileSync(join(dir, cls, `${n}.png`), PNG.sync.write(png))
    })
  })
  return dir
}
