/**
 * An image folder in the ImageFolder layout (DIR/<class>/<image>, or DIR/train/<class>/... and
 * DIR/test/<class>/...) -> the model's 8-bit inputs, through the page's own preprocessing
 * (src/image/pipeline.ts preprocessFor, on the pixels the page's decoder would read), with the
 * class names (the sub-folder names, sorted) and a seeded train/test split.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative } from 'node:path'
import type { InputSpec } from '../../../src/model/manifest'
import { seededRandom } from '../../../src/model/seeded-random'
import { preprocessFor } from '../../../src/image/pipeline'
import { DECODED_EXTENSIONS, decodeImageFile } from './image-file'

export type FolderInput = Pick<InputSpec, 'height' | 'width' | 'channels' | 'preprocess' | 'frame'>

export interface FolderOptions {
  input: FolderInput
  /** seeds the split of a folder without train/ and test/ */
  seed: number
  /** share of each class's images held out for the test split (without train/ and test/) */
  testFraction: number
  /** called once per image read, for progress */
  onImage?: (done: number, total: number) => void
}

export interface PreparedItem {
  /** path relative to the data folder, '/'-separated */
  file: string
  label: number
  split: 'train' | 'test'
}

export interface PreparedFolder {
  classes: string[]
  layout: 'seeded split' | 'train and test folders'
  items: PreparedItem[]
  /** items.length images of height x width x channels bytes, HWC, in the order of `items` */
  pixels: Uint8Array
  /** files left out, and why */
  skipped: { file: string; reason: string }[]
}

/** A folder the trainer cannot use; the message says what to change. */
export class FolderError extends Error {
  override name = 'FolderError'
}

const visible = (name: string) => !name.startsWith('.')
const isDir = (path: string) => statSync(path).isDirectory()

function subFolders(dir: string): string[] {
  return readdirSync(dir).filter((n) => visible(n) && isDir(join(dir, n))).sort()
}

/** Every visible file under `dir`, sorted, relative to `dir`. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((p) => p.split(/[\\/]/).every(visible) && statSync(join(dir, p)).isFile())
    .sort()
}

export interface Listed {
  classes: string[]
  layout: PreparedFolder['layout']
  /** per class, per split (absent: to be split), files relative to the data folder */
  files: { file: string; label: number; split?: 'train' | 'test' }[]
}

export function listFolder(data: string): Listed {
  if (!existsSync(data) || !isDir(data)) throw new FolderError(`${data} is not a folder`)
  const top = subFolders(data)
  const split = top.includes('train') && top.includes('test')
  const classDirs = (root: string) => {
    const classes = subFolders(root)
    if (classes.length === 0)
      throw new FolderError(`${root} has no class sub-folders: put each class's images in a folder of its own (${join(root, 'CLASS', 'image.jpg')})`)
    if (classes.length < 2) throw new FolderError(`${root} has one class sub-folder (${classes[0]}); a classifier needs at least 2`)
    return classes
  }
  const classes = classDirs(split ? join(data, 'train') : data)
  if (split) {
    const test = classDirs(join(data, 'test'))
    if (test.join('\n') !== classes.join('\n'))
      throw new FolderError(`${join(data, 'train')} and ${join(data, 'test')} must hold the same class folders: train has [${classes.join(', ')}], test has [${test.join(', ')}]`)
  }
  const files: Listed['files'] = []
  for (const part of split ? (['train', 'test'] as const) : [undefined]) {
    const root = part ? join(data, part) : data
    classes.forEach((name, label) => {
      const found = filesUnder(join(root, name)).map((f) => relative(data, join(root, name, f)).split(/[\\/]/).join('/'))
      if (found.length === 0) throw new FolderError(`class folder ${join(root, name)} holds no files`)
      for (const file of found) files.push({ file, label, ...(part ? { split: part } : {}) })
    })
  }
  return { classes, layout: split ? 'train and test folders' : 'seeded split', files }
}

/** Per class, the test share of its usable images, picked by a seeded shuffle (at least one each way when a class has two or more). */
export function seededSplit(labels: readonly number[], classes: number, seed: number, testFraction: number): ('train' | 'test')[] {
  const random = seededRandom(seed)
  const out: ('train' | 'test')[] = labels.map(() => 'train')
  for (let c = 0; c < classes; c++) {
    const idx = labels.flatMap((l, i) => (l === c ? [i] : []))
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[idx[i], idx[j]] = [idx[j], idx[i]]
    }
    const n = idx.length
    const test = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * testFraction)))
    for (const i of idx.slice(0, test)) out[i] = 'test'
  }
  return out
}

/** One file's model input, or why it was skipped. */
export type FileResult = { pixels: Uint8Array } | { reason: string }

/** Reads, decodes and preprocesses one image file as the page would. */
export function prepareFile(data: string, file: string, input: FolderInput): FileResult {
  const ext = extname(file).toLowerCase()
  if (!DECODED_EXTENSIONS.includes(ext)) return { reason: `not read: the trainer decodes ${DECODED_EXTENSIONS.join(', ')} (convert it to PNG or JPEG)` }
  let result
  try {
    result = preprocessFor({ ...input, mean: [], std: [] }, decodeImageFile(new Uint8Array(readFileSync(join(data, file)))))
  } catch (e) {
    return { reason: `unreadable: ${(e as Error).message}` }
  }
  return result.ok ? { pixels: result.pixels } : { reason: result.reason }
}

/** Reads, decodes and preprocesses every image of the folder; unreadable or blank images are skipped (and listed). */
export function prepareFolder(data: string, options: FolderOptions): PreparedFolder {
  const listed = listFolder(data)
  const results = listed.files.map((f, i) => {
    options.onImage?.(i, listed.files.length)
    return prepareFile(data, f.file, options.input)
  })
  options.onImage?.(listed.files.length, listed.files.length)
  return assemble(listed, results, options)
}

/** The split and the one pixel buffer, from each listed file's result (in the listing's order). */
export function assemble({ classes, layout, files }: Listed, results: FileResult[], options: FolderOptions): PreparedFolder {
  const { height, width, channels } = options.input
  const size = height * width * channels
  const kept: { file: string; label: number; split?: 'train' | 'test'; pixels: Uint8Array }[] = []
  const skipped: PreparedFolder['skipped'] = []
  files.forEach((f, i) => {
    const r = results[i]
    if ('reason' in r) skipped.push({ file: f.file, reason: r.reason })
    else kept.push({ ...f, pixels: r.pixels })
  })
  for (const part of layout === 'seeded split' ? [undefined] : (['train', 'test'] as const))
    classes.forEach((name, label) => {
      if (!kept.some((k) => k.label === label && k.split === part))
        throw new FolderError(`class ${name} has no usable images${part ? ` in ${part}/` : ''} (${skipped.filter((s) => s.file.includes(`${name}/`)).length} skipped)`)
    })
  const splits = layout === 'seeded split' ? seededSplit(kept.map((k) => k.label), classes.length, options.seed, options.testFraction) : kept.map((k) => k.split!)
  const pixels = new Uint8Array(kept.length * size)
  kept.forEach((k, i) => pixels.set(k.pixels, i * size))
  return { classes, layout, items: kept.map((k, i) => ({ file: k.file, label: k.label, split: splits[i] })), pixels, skipped }
}
