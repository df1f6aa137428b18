/**
 * A folder of photos in the ImageFolder layout made from CIFAR-10 images (enlarged as
 * src/datasets/fixtures/photos.ts renders them, saved as JPEG or PNG), for trying and testing
 * `npm run train:torch -- --data DIR` without a photo collection of one's own.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CIFAR10_CLASSES, imageAt, loadSplit, type SplitName } from '../../../src/datasets'
import { cifarPhoto, type Format } from '../../../src/datasets/fixtures/photos'

export interface SampleFolderOptions {
  /** CIFAR-10 class names, each a sub-folder */
  classes: readonly string[]
  perClass: number
  split: SplitName
  /** the saved photos' side, px */
  side: number
  /** 'mixed': JPEG and PNG in turn */
  format: Format | 'mixed'
}

/** Writes DIR/<class>/<class>-<index>.<ext>, the first `perClass` images of each class in the split; returns the paths per class. */
export function writeCifarFolder(dir: string, o: SampleFolderOptions): Record<string, string[]> {
  const split = loadSplit('cifar10', o.split)
  const out: Record<string, string[]> = {}
  for (const name of o.classes) {
    const label = CIFAR10_CLASSES.indexOf(name)
    if (label < 0) throw new Error(`${name} is not a CIFAR-10 class (${CIFAR10_CLASSES.join(', ')})`)
    mkdirSync(join(dir, name), { recursive: true })
    out[name] = []
    for (let i = 0; i < split.count && out[name].length < o.perClass; i++) {
      if (split.labels[i] !== label) continue
      const format: Format = o.format === 'mixed' ? (out[name].length % 2 ? 'png' : 'jpeg') : o.format
      const path = join(dir, name, `${name}-${i}.${format === 'jpeg' ? 'jpg' : 'png'}`)
      writeFileSync(path, cifarPhoto(imageAt(split, i), { side: o.side, format }))
      out[name].push(path)
    }
  }
  return out
}
