/**
 * The pictures of docs/photo-preprocessing.md: for one CIFAR-10 test picture in several of the
 * styles of ./photo-style-variants.ts, each step of the page's photo preprocessing as a small PNG:
 * the file as decoded (transparency shown over white), the plain margins peeled (what is left
 * outlined in red), the crop given to the resampler, and the model's 32x32 input (enlarged 4x).
 * For the over- and underexposed styles: the file, the resampled crop before the exposure step,
 * the model's input after it, and the original picture for comparison; for the overexposed one
 * also the resampled crop with the exact inverse of its exposure (what no rule can do better than:
 * the clipped highlights stay flat).
 *
 *   node --import tsx scripts/bench/photo-style-pictures.ts [--picture 3] [--out docs/images/photo-preprocessing]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadCifar10 } from '../../src/datasets'
import { png } from '../../src/datasets/fixtures/digits'
import { overWhite, rgbOf } from '../../src/image/alpha'
import { correctExposure } from '../../src/image/exposure'
import { objectCrop } from '../../src/image/photo-frame'
import { unplainBox } from '../../src/image/plain-margins'
import { areaAverage, resample, type Raster } from '../../src/image/resize'
import { helpIfAsked } from '../help'
import { decodeImageFile } from '../training/folder/image-file'
import { EXPOSURES, variant, type Style } from './photo-style-variants'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({
  options: { picture: { type: 'string', default: '3' }, out: { type: 'string', default: 'docs/images/photo-preprocessing' } },
})
const SHOWN: Style[] = ['letterboxed', 'screenshot', 'off-centre', 'transparent', 'upscaled']
const EXPOSED: Style[] = ['overexposed', 'underexposed']
const THUMB = 128

function save(name: string, r: Raster): void {
  const rgba = Buffer.alloc(r.width * r.height * 4)
  for (let i = 0; i < r.width * r.height; i++) rgba.set([r.data[i * 3], r.data[i * 3 + 1], r.data[i * 3 + 2], 255], i * 4)
  writeFileSync(join(args.out, name), png(r.width, r.height, rgba))
}

/** At most THUMB px on a side, area-averaged. */
function thumb(r: Raster): Raster {
  const s = Math.min(1, THUMB / Math.max(r.width, r.height))
  return s === 1 ? r : areaAverage(r, Math.max(1, Math.round(r.width * s)), Math.max(1, Math.round(r.height * s)))
}

function outlined(r: Raster): Raster {
  const box = unplainBox(r)
  const out = { ...r, data: Uint8Array.from(r.data) }
  const t = Math.max(2, Math.round(Math.max(r.width, r.height) / 120))
  for (let y = box.y0; y < box.y1; y++)
    for (let x = box.x0; x < box.x1; x++)
      if (x - box.x0 < t || box.x1 - 1 - x < t || y - box.y0 < t || box.y1 - 1 - y < t) out.data.set([230, 30, 30], (y * r.width + x) * 3)
  return out
}

mkdirSync(args.out, { recursive: true })
const k = Number(args.picture)
const test = loadCifar10({ splits: ['test'] }).test
const step = Math.floor(test.count / 100)
const rgb32 = test.images.subarray(k * step * 3072, (k * step + 1) * 3072)
for (const style of SHOWN) {
  const rgb = rgbOf(overWhite(decodeImageFile(variant(style, rgb32, k))))
  const crop = objectCrop(rgb, 1, 32)
  save(`${style}-1-photo.png`, thumb(rgb))
  save(`${style}-2-margins.png`, thumb(outlined(rgb)))
  save(`${style}-3-crop.png`, thumb(crop))
  save(`${style}-4-input.png`, blocks(correctExposure(resample(crop, 32, 32)), 4))
}
for (const style of EXPOSED) {
  const rgb = rgbOf(overWhite(decodeImageFile(variant(style, rgb32, k))))
  const small = resample(objectCrop(rgb, 1, 32), 32, 32)
  save(`${style}-1-photo.png`, thumb(rgb))
  save(`${style}-4-resampled.png`, blocks(small, 4))
  save(`${style}-5-input.png`, blocks(correctExposure(small), 4))
}
const { gain, lift } = EXPOSURES.overexposed
const over = resample(objectCrop(rgbOf(overWhite(decodeImageFile(variant('overexposed', rgb32, k)))), 1, 32), 32, 32)
save('overexposed-6-inverse.png', blocks({ ...over, data: over.data.map((v) => Math.round(Math.max(0, (v - lift) / gain))) }, 4))
save('original-input.png', blocks({ width: 32, height: 32, channels: 3, data: rgb32 }, 4))
console.log(`wrote ${SHOWN.length * 4 + EXPOSED.length * 3 + 2} pictures to ${args.out}`)

/** Each pixel as a `f` x `f` block, so the model's input is seen as it is. */
function blocks(r: Raster, f: number): Raster {
  const out = new Uint8Array(r.width * f * r.height * f * 3)
  for (let y = 0; y < r.height * f; y++) for (let x = 0; x < r.width * f; x++) out.set(r.data.subarray(((y / f | 0) * r.width + (x / f | 0)) * 3, ((y / f | 0) * r.width + (x / f | 0)) * 3 + 3), (y * r.width * f + x) * 3)
  return { width: r.width * f, height: r.height * f, channels: 3, data: out }
}
