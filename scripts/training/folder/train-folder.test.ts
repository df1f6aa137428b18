/**
 * `npm run train:torch -- --data DIR` end to end on a small folder of real photos (CIFAR-10 test
 * images saved as JPEG and PNG files): the page's preprocessing, the seeded split, training,
 * export, sealing and ONNX, then the exported model read back by the TypeScript side. And the
 * folders it refuses, with the message it gives.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadModelDir, loadModels, type ModelFiles } from '../../../src/datasets/model-files'
import { preprocessFor } from '../../../src/image/pipeline'
import { forward, normalise } from '../../../src/model/forward'
import { ortLogits } from '../onnx/reference-check'
import { FolderError, listFolder, prepareFolder, seededSplit } from './read-folder'
import { writeCifarFolder } from './sample-folder'
import { accuracy, encryptedPredictions, plaintextPredictions, readPrepared, testSplit, type PreparedFiles } from './test-split'

const PYTHON = '/usr/bin/python3'
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
const CLASSES = ['automobile', 'frog', 'ship']
const PER_CLASS = 12
const SEED = 3
const PHOTO = { height: 32, width: 32, channels: 3 as const, preprocess: 'photo' as const }

let root: string
const train = (...args: string[]) =>
  spawnSync(PYTHON, ['scripts/training/train.py', '--threads', '1', '--seed', String(SEED), ...args], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } })

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'blindfold-folder-'))
  writeCifarFolder(join(root, 'photos'), { classes: CLASSES, perClass: PER_CLASS, split: 'test', side: 64, format: 'mixed' })
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe.skipIf(!hasTorch)('train:torch --data DIR', () => {
  let log: string
  let model: ModelFiles
  let prepared: PreparedFiles
  beforeAll(async () => {
    const r = train('--data', join(root, 'photos'), '--arch', 'c3s2p1-4,square,pool2,dense', '--epochs', '2', '--name', 'own-photos', '--out', join(root, 'model'), '--prepared', join(root, 'prepared'), '--samples', '1')
    log = r.stdout + r.stderr
    expect(r.status, log).toBe(0)
    model = await loadModelDir(join(root, 'model'))
    prepared = readPrepared(join(root, 'prepared'))
  })

  it('exports a sealed manifest that names the folders as classes, and says what it did', () => {
    const m = model.manifest
    expect(m.classes).toEqual([...CLASSES].sort())
    expect(m.input).toMatchObject({ ...PHOTO })
    expect(m.input.mean).toHaveLength(3)
    expect(m.he.coeffModulusBits.length).toBeGreaterThan(0)
    expect(m.layers.at(-1)).toMatchObject({ type: 'dense', units: CLASSES.length })
    expect(log).toMatch(/class 0 automobile: 10 train, 2 test/)
    expect(log).toMatch(/final test accuracy/)
    expect(log).toMatch(/sealed .* depth 3/)
    // written in a hidden sibling and renamed into place: nothing of it is left beside the folder
    expect(readdirSync(root).filter((n) => n.startsWith('.'))).toEqual([])
  })

  it('gives the model one example per class from the test split when asked', () => {
    const index = JSON.parse(readFileSync(join(root, 'model', 'samples', 'index.json'), 'utf8')) as { samples: { file: string; label: number }[] }
    expect(index.samples.map((s) => s.label)).toEqual([0, 1, 2])
    // the example is the test image as the page reads it: the same model input
    const first = prepared.items.findIndex((i) => i.split === 'test' && i.label === 0)
    const page = preprocessFor(model.manifest.input, PNG.sync.read(readFileSync(join(root, 'model', 'samples', index.samples[0].file))))
    expect(page.ok && Array.from(page.pixels)).toEqual(Array.from(prepared.images[first]))
  })

  it('splits each class with the seed, train and test disjoint, the same in every run', () => {
    const items = prepared.items
    expect(items).toHaveLength(CLASSES.length * PER_CLASS)
    const test = new Set(items.filter((i) => i.split === 'test').map((i) => i.file))
    const trainFiles = items.filter((i) => i.split === 'train').map((i) => i.file)
    expect(test.size).toBe(CLASSES.length * 2)
    expect(trainFiles.filter((f) => test.has(f))).toEqual([])
    // the same folder read again in this process, with the same seed: the same split and inputs
    const again = prepareFolder(join(root, 'photos'), { input: PHOTO, seed: SEED, testFraction: 0.2 })
    expect(again.items).toEqual(items)
    expect(Buffer.from(again.pixels).equals(Buffer.concat(prepared.images))).toBe(true)
    // another seed holds out other images
    const other = seededSplit(items.map((i) => i.label), CLASSES.length, SEED + 1, 0.2)
    expect(other.filter((s) => s === 'test')).toHaveLength(test.size)
    expect(other).not.toEqual(items.map((i) => i.split))
  })

  it('trains on what the page sends: the inputs are src/image/pipeline.ts on the decoded file', () => {
    for (const ext of ['.png', '.jpg']) {
      const i = prepared.items.findIndex((item) => item.file.endsWith(ext))
      const bytes = readFileSync(join(root, 'photos', prepared.items[i].file))
      const page = preprocessFor(model.manifest.input, ext === '.png' ? PNG.sync.read(bytes) : jpeg.decode(bytes, { useTArray: true }))
      expect(page.ok, ext).toBe(true)
      if (page.ok) expect(Array.from(prepared.images[i]), ext).toEqual(Array.from(page.pixels))
    }
  })

  it('gives, in the TypeScript forward pass and under encryption, the test accuracy the trainer reported', async () => {
    const { images, labels } = testSplit(prepared)
    const plain = plaintextPredictions(model.manifest, model.weights, images)
    const reported = (model.manifest as unknown as { training: { testAccuracy: number } }).training.testAccuracy
    // float32 training vs the float64 forward pass may flip a near tie: at most one image
    expect(Math.abs(accuracy(plain, labels) - reported)).toBeLessThanOrEqual(1 / labels.length + 1e-4)
    expect(await encryptedPredictions(model.manifest, model.weights, images.slice(0, 2))).toEqual(plain.slice(0, 2))
  })

  it('writes an ONNX file that ONNX Runtime runs to the manifest\'s logits', async () => {
    const onnx = join(root, 'model', 'own-photos.onnx')
    expect(existsSync(onnx)).toBe(true)
    const { images } = testSplit(prepared)
    const inputs = images.slice(0, 4).map((img) => normalise(img, model.manifest))
    const ort = await ortLogits(onnx, model.manifest, inputs)
    inputs.forEach((x, n) => forward(model.manifest, model.weights, x).forEach((v, o) => expect(Math.abs(v - ort[n][o])).toBeLessThan(1e-4)))
  })

  it('ends with the mean of the last epochs\' weights when asked (--average), after the same course', async () => {
    const run = (name: string, ...extra: string[]) => {
      const r = train('--data', join(root, 'photos'), '--arch', 'c3s2p1-4,square,pool2,dense', '--epochs', '3', '--out', join(root, name), ...extra)
      expect(r.status, r.stdout + r.stderr).toBe(0)
      return { log: r.stdout, files: readFileSync(join(root, name, 'weights.bin')), manifest: JSON.parse(readFileSync(join(root, name, 'manifest.json'), 'utf8')) }
    }
    const last = run('last-epoch')
    const averaged = run('averaged', '--average', '3')
    // the seed gives both runs the same epochs (times aside); only the weights they end with differ
    const epochs = (log: string) => log.split('\n').filter((line) => line.startsWith('epoch ')).map((line) => line.replace(/ time .*$/, ''))
    expect(epochs(averaged.log)).toHaveLength(3)
    expect(epochs(averaged.log)).toEqual(epochs(last.log))
    expect(averaged.log).toMatch(/weights averaged over the last 3 epochs: test_acc/)
    expect(averaged.files.equals(last.files)).toBe(false)
    expect(averaged.manifest.training.weightAveraging).toMatch(/last 3 epochs, batch-norm statistics recomputed/)
    expect(last.manifest.training.weightAveraging).toBeNull()
    // what was exported is the averaged model: its reported accuracy is the TypeScript forward pass's
    const { images, labels } = testSplit(prepared)
    const exported = await loadModelDir(join(root, 'averaged'))
    const plain = plaintextPredictions(exported.manifest, exported.weights, images)
    expect(Math.abs(accuracy(plain, labels) - averaged.manifest.training.testAccuracy)).toBeLessThanOrEqual(1 / labels.length + 1e-4)
  })

  it('stops with the folder\'s problem, before training, for a folder it cannot use', () => {
    const one = join(root, 'one-class')
    mkdirSync(join(one, 'cats'), { recursive: true })
    writeFileSync(join(one, 'cats', 'a.png'), readFileSync(join(root, 'photos', prepared.items[1].file)))
    const r = train('--data', one, '--arch', 'c3s2p1-4,square,pool2,dense', '--epochs', '1', '--out', join(root, 'never'))
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/one class sub-folder \(cats\); a classifier needs at least 2/)
    // nothing written: a half-made folder under server/models would stop the server's start
    expect(existsSync(join(root, 'never'))).toBe(false)
    expect(readdirSync(root).filter((n) => n.startsWith('.never'))).toEqual([])
  })

  it('leaves no served folder when the run is killed half-way, and the next run clears what it left', async () => {
    const models = join(root, 'models')
    mkdirSync(models)
    const child = spawn(PYTHON, ['scripts/training/train.py', '--threads', '1', '--data', join(root, 'photos'), '--arch', 'c3s2p1-4,square,pool2,dense', '--epochs', '50', '--out', join(models, 'killed')], { stdio: 'ignore', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } })
    let gone = false
    const exited = new Promise((resolve) => child.on('exit', resolve)).then(() => (gone = true))
    const partial = join(models, `.killed.partial-${child.pid}`)
    // killed once it writes into its model folder (its log opens there before the training)
    while (!gone && !existsSync(join(partial, 'train.log'))) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(gone).toBe(false)
    child.kill('SIGKILL')
    await exited
    expect(readdirSync(models)).toEqual([`.killed.partial-${child.pid}`])
    const warnings: string[] = []
    expect((await loadModels(models, (line) => warnings.push(line))).size).toBe(0)
    expect(warnings).toEqual([])
    // the next run for the same folder removes it
    const r = train('--data', join(root, 'photos'), '--arch', 'c3s2p1-4,square,pool2,dense', '--epochs', '1', '--train-limit', '6', '--out', join(models, 'killed'))
    expect(r.status, r.stdout + r.stderr).toBe(0)
    expect(readdirSync(models)).toEqual(['killed'])
  })
})

describe('the folder reader', () => {
  const folder = (name: string, files: Record<string, Buffer | string>) => {
    const dir = join(root, name)
    for (const [path, bytes] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true })
      writeFileSync(join(dir, path), bytes)
    }
    return dir
  }
  const photo = () => readFileSync(join(root, 'photos', listFolder(join(root, 'photos')).files.find((f) => f.file.endsWith('.png'))!.file))
  const refusal = (dir: string) => {
    try {
      prepareFolder(dir, { input: PHOTO, seed: 1, testFraction: 0.2 })
    } catch (e) {
      expect(e).toBeInstanceOf(FolderError)
      return (e as Error).message
    }
    throw new Error(`${dir} was accepted`)
  }

  it('refuses a folder without class sub-folders, with one class, or with an empty class', () => {
    expect(refusal(folder('flat', { 'a.png': photo() }))).toMatch(/has no class sub-folders: put each class's images in a folder of its own/)
    expect(refusal(folder('single', { 'cat/a.png': photo() }))).toMatch(/one class sub-folder \(cat\); a classifier needs at least 2/)
    const empty = folder('empty', { 'cat/a.png': photo() })
    mkdirSync(join(empty, 'dog'))
    expect(refusal(empty)).toMatch(/class folder .*dog holds no files/)
    expect(refusal(join(root, 'missing'))).toMatch(/is not a folder/)
  })

  it('skips unreadable files with the reason, and refuses a class left with none', () => {
    const dir = folder('broken', { 'cat/a.png': photo(), 'cat/b.png': photo(), 'cat/bad.jpg': 'not a picture', 'cat/c.webp': 'RIFF', 'dog/a.png': photo(), 'dog/more/b.png': photo() })
    const r = prepareFolder(dir, { input: PHOTO, seed: 1, testFraction: 0.5 })
    // a file in a deeper folder counts for its class
    expect(r.items.map((i) => `${i.file} ${i.label}`)).toEqual(['cat/a.png 0', 'cat/b.png 0', 'dog/a.png 1', 'dog/more/b.png 1'])
    expect(r.skipped).toEqual([
      { file: 'cat/bad.jpg', reason: 'unreadable: not a PNG or JPEG file' },
      { file: 'cat/c.webp', reason: 'not read: the trainer decodes .png, .jpg, .jpeg (convert it to PNG or JPEG)' },
    ])
    expect(refusal(folder('unreadable', { 'cat/a.png': photo(), 'dog/a.jpg': 'garbage' }))).toMatch(/class dog has no usable images/)
  })

  it('takes the split from train/ and test/ when the folder has them, and needs the same classes in both', () => {
    const dir = folder('given', { 'train/cat/a.png': photo(), 'train/dog/a.png': photo(), 'test/cat/b.png': photo(), 'test/dog/b.png': photo() })
    const r = prepareFolder(dir, { input: PHOTO, seed: 1, testFraction: 0.2 })
    expect(r.layout).toBe('train and test folders')
    expect(r.classes).toEqual(['cat', 'dog'])
    expect(r.items.map((i) => `${i.split} ${i.file} ${i.label}`)).toEqual(['train train/cat/a.png 0', 'train train/dog/a.png 1', 'test test/cat/b.png 0', 'test test/dog/b.png 1'])
    expect(refusal(folder('mismatch', { 'train/cat/a.png': photo(), 'train/dog/a.png': photo(), 'test/cat/b.png': photo(), 'test/cow/b.png': photo() }))).toMatch(/must hold the same class folders/)
  })
})
