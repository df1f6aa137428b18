/**
 * node --import tsx scripts/training/folder/prepare.ts --data DIR --out OUTDIR
 *     --preprocess photo|ink-on-background --input HxWxC [--frame FIT:mass|box] [--seed S] [--test-fraction F]
 *     [--samples N] [--threads T]
 *
 * The first step of `npm run train:torch -- --data DIR` (which runs it): reads an image folder
 * in the ImageFolder layout (./read-folder.ts), runs every image through the page's own
 * preprocessing and writes OUTDIR/prepared.json (classes, and per image its file, label and
 * split) and OUTDIR/prepared.bin (the 8-bit model inputs, HWC, in the order of the JSON's items).
 * The files are decoded on T worker threads (default: one per CPU core).
 * With --samples N, the first N test images of each class as the page reads them (at most
 * WORK_SIDE on a side) go to OUTDIR/samples/<class>/ as PNG files, for the model's examples.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { basename, extname, join } from 'node:path'
import { PNG } from 'pngjs'
import { parseArgs } from 'node:util'
import type { FrameSpec } from '../../../src/model/manifest'
import { helpIfAsked } from '../../help'
import { decodeImageFile } from './image-file'
import { FolderError, type FolderInput } from './read-folder'
import { prepareFolderInParallel } from './read-in-parallel'

helpIfAsked(import.meta.url)
const { values } = parseArgs({
  options: {
    data: { type: 'string' }, out: { type: 'string' }, preprocess: { type: 'string' }, input: { type: 'string' },
    threads: { type: 'string' }, frame: { type: 'string' }, samples: { type: 'string', default: '0' }, seed: { type: 'string', default: '1' }, 'test-fraction': { type: 'string', default: '0.2' },
  },
})
const fail = (message: string): never => {
  console.error(`prepare: ${message}`)
  process.exit(2)
}
const { data, out } = values
if (!data || !out) fail('--data DIR and --out OUTDIR are required')
const preprocess = values.preprocess
if (preprocess !== 'photo' && preprocess !== 'ink-on-background') fail('--preprocess must be photo or ink-on-background')
const shape = /^(\d+)x(\d+)x([13])$/.exec(values.input ?? '') ?? fail('--input must be HxWxC with C 1 or 3, e.g. 32x32x3')
let frame: FrameSpec | undefined
if (values.frame) {
  const m = /^(\d+):(mass|box)$/.exec(values.frame) ?? fail('--frame must be FIT:mass or FIT:box, e.g. 20:mass')
  frame = { fit: Number(m[1]), centre: m[2] as FrameSpec['centre'] }
}
const input: FolderInput = {
  height: Number(shape[1]), width: Number(shape[2]), channels: Number(shape[3]) as 1 | 3,
  preprocess: preprocess as FolderInput['preprocess'], ...(frame ? { frame } : {}),
}
const seed = Number(values.seed)
const testFraction = Number(values['test-fraction'])
if (!Number.isInteger(seed)) fail('--seed must be an integer')
if (!(testFraction > 0 && testFraction < 1)) fail('--test-fraction must be between 0 and 1')

let prepared
try {
  const threads = Number(values.threads ?? availableParallelism())
  prepared = await prepareFolderInParallel(data!, {
    input, seed, testFraction,
    onImage: (done, total) => {
      if (done % 500 === 0 && done < total) console.log(`prepare: read ${done}/${total} files`)
    },
  }, threads)
} catch (e) {
  if (e instanceof FolderError) fail(e.message)
  throw e
}
for (const s of prepared.skipped) console.warn(`prepare: warning: skipped ${s.file}: ${s.reason}`)
mkdirSync(out!, { recursive: true })
const count = (label: number, split: string) => prepared.items.filter((i) => i.label === label && i.split === split).length
prepared.classes.forEach((name, c) => console.log(`prepare: class ${c} ${name}: ${count(c, 'train')} train, ${count(c, 'test')} test`))
const { pixels, ...rest } = prepared
writeFileSync(join(out!, 'prepared.json'), JSON.stringify({ data, input, seed, testFraction, ...rest }, null, 1) + '\n')
writeFileSync(join(out!, 'prepared.bin'), pixels)
const samples = Number(values.samples)
if (samples > 0)
  prepared.classes.forEach((name, label) => {
    const dir = join(out!, 'samples', name)
    mkdirSync(dir, { recursive: true })
    for (const item of prepared.items.filter((i) => i.label === label && i.split === 'test').slice(0, samples)) {
      const img = decodeImageFile(new Uint8Array(readFileSync(join(data!, item.file))))
      const png = new PNG({ width: img.width, height: img.height })
      png.data.set(img.data)
      writeFileSync(join(dir, `${basename(item.file, extname(item.file))}.png`), PNG.sync.write(png))
    }
  })
console.log(`prepare: ${prepared.items.length} images (${prepared.layout}), ${prepared.skipped.length} skipped, written to ${out}`)
