/**
 * Official MNIST test digits rendered the way people hand them over: white on
 * black PNG, dark ink on white or tinted paper (4x, off-centre, JPEG) and
 * transparent PNG. Generated at test time into a temp dir.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32, deflateSync } from 'node:zlib'
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import { loadMnist } from '../../scripts/mnist'

export type Style = 'png-white-on-black' | 'jpeg-dark-on-white' | 'jpeg-dark-on-tinted' | 'png-transparent'
export const STYLES: Style[] = ['png-white-on-black', 'jpeg-dark-on-white', 'jpeg-dark-on-tinted', 'png-transparent']

export interface DigitFile {
  path: string
  label: number
  style: Style
  index: number
}

type Rgba = [number, number, number, number]

/** Draws a 28x28 digit scaled by `scale` at (ox, oy) on a w x h sheet. */
function render(digit: Uint8Array, w: number, h: number, scale: number, ox: number, oy: number, pixel: (ink: number) => Rgba, paper: Rgba): Buffer {
  const data = Buffer.alloc(w * h * 4)
  for (let i = 0; i < w * h; i++) data.set(paper, i * 4)
  for (let y = 0; y < 28 * scale; y++) {
    for (let x = 0; x < 28 * scale; x++) {
      const v = digit[Math.floor(y / scale) * 28 + Math.floor(x / scale)]
      if (v > 0) data.set(pixel(v), ((oy + y) * w + ox + x) * 4)
    }
  }
  return data
}

export function png(w: number, h: number, data: Buffer): Buffer {
  const p = new PNG({ width: w, height: h })
  data.copy(p.data)
  return PNG.sync.write(p)
}

const mix = (a: number, b: number, t: number) => Math.round(a * (1 - t) + b * t)

export function encodeDigit(digit: Uint8Array, style: Style, n: number): { bytes: Buffer; ext: string } {
  switch (style) {
    case 'png-white-on-black':
      return { bytes: png(28, 28, render(digit, 28, 28, 1, 0, 0, (v) => [v, v, v, 255], [0, 0, 0, 255])), ext: 'png' }
    case 'jpeg-dark-on-white': {
      const w = 170
      const h = 150
      const data = render(digit, w, h, 4, 8 + (n % 40), 4 + (n % 30), (v) => [255 - v, 255 - v, 255 - v, 255], [255, 255, 255, 255])
      return { bytes: Buffer.from(jpeg.encode({ data, width: w, height: h }, 90).data), ext: 'jpg' }
    }
    case 'jpeg-dark-on-tinted': {
      const w = 160
      const h = 180
      const paper: Rgba = [238, 226, 190, 255]
      const inkColour = [30, 40, 110]
      const data = render(digit, w, h, 4, 40 - (n % 35), 60 - (n % 50), (v) => [mix(paper[0], inkColour[0], v / 255), mix(paper[1], inkColour[1], v / 255), mix(paper[2], inkColour[2], v / 255), 255], paper)
      return { bytes: Buffer.from(jpeg.encode({ data, width: w, height: h }, 85).data), ext: 'jpg' }
    }
    case 'png-transparent': {
      const w = 84
      const h = 84
      return { bytes: png(w, h, render(digit, w, h, 2, 10 + (n % 20), 20, (v) => [20, 20, 20, v], [255, 255, 255, 0])), ext: 'png' }
    }
  }
}

/** `count` test digits starting at `first`, cycling through the styles. */
export function writeDigits(count: number, first = 0): { dir: string; files: DigitFile[] } {
  const mnist = loadMnist('test')
  const dir = mkdtempSync(join(tmpdir(), 'blindfold-digits-'))
  const files: DigitFile[] = []
  for (let n = 0; n < count; n++) {
    const index = first + n
    const style = STYLES[n % STYLES.length]
    const { bytes, ext } = encodeDigit(mnist.pixels.subarray(index * 784, index * 784 + 784), style, n)
    const path = join(dir, `mnist-${index}-${style}.${ext}`)
    writeFileSync(path, bytes)
    files.push({ path, label: mnist.labels[index], style, index })
  }
  return { dir, files }
}

export function writeBlank(dir: string): string {
  const path = join(dir, 'blank.png')
  writeFileSync(path, png(64, 64, Buffer.alloc(64 * 64 * 4, 255)))
  return path
}

export function writeNotAnImage(dir: string): string {
  const path = join(dir, 'notes.png')
  writeFileSync(path, 'This is a text file with an image extension.\n')
  return path
}

/**
 * A valid 10,000 x 6,000 grayscale PNG (60 megapixels, over the 50 MP limit)
 * that is only ~60 KB on disk: all-black rows compress to almost nothing.
 */
export function writeHugePng(dir: string): string {
  const width = 10_000
  const height = 6_000
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const out = Buffer.alloc(8 + data.length + 4)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc32(body), 8 + data.length)
    return out
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 0, 0, 0, 0], 8) // 8-bit grayscale, deflate, no filter, no interlace
  const rows = Buffer.alloc(height * (width + 1)) // filter byte 0 + black pixels, per row
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const path = join(dir, 'huge.png')
  writeFileSync(path, Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]))
  return path
}
