/**
 * Reads a model's sample images (samples/index.json and the PNG files it lists) once, at start,
 * and checks them: a strict file name whose hash part is the file's own SHA-256 prefix, a class
 * index the model has. Requests are answered from memory, so no request path ever reaches the
 * file system.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SAMPLE_FILE_PATTERN, samplePaths, type SampleList } from '../../src/api/samples'

export interface SampleFile {
  bytes: Buffer
  etag: string
}

export interface ModelSamples {
  list: SampleList
  files: Map<string, SampleFile>
}

interface StoredIndex {
  dataset: string
  source: string
  license: string
  samples: Array<{ file: string; label: number }>
}

/** The samples of `model` in `dir`/samples; an empty list when the model ships none. */
export function readSamples(dir: string, model: string, classes: number): ModelSamples {
  const root = join(dir, 'samples')
  const files = new Map<string, SampleFile>()
  if (!existsSync(join(root, 'index.json'))) return { list: { model, dataset: '', source: '', license: '', samples: [] }, files }
  const index = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')) as StoredIndex
  const samples = index.samples.map(({ file, label }) => {
    if (!SAMPLE_FILE_PATTERN.test(file)) throw new Error(`${model} samples: bad file name ${JSON.stringify(file)}`)
    if (!Number.isInteger(label) || label < 0 || label >= classes) throw new Error(`${model} samples: ${file} has label ${label}, not a class of the model`)
    const bytes = readFileSync(join(root, file))
    const digest = createHash('sha256').update(bytes).digest('hex')
    if (!file.endsWith(`-${digest.slice(0, 12)}.png`)) throw new Error(`${model} samples: ${file} does not match its content hash`)
    files.set(file, { bytes, etag: `"${digest}"` })
    return { file, url: samplePaths.file(model, file), label }
  })
  return { list: { model, dataset: index.dataset, source: index.source, license: index.license, samples }, files }
}
