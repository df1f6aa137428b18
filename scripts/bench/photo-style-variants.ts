/**
 * One CIFAR-10 test picture (32x32 RGB) saved as people hand photos over, one file per style:
 * the original, enlarged, letterboxed, inside a screenshot, off-centre on a wide plain margin,
 * over- and under-exposed, a phone JPEG stored sideways with an EXIF orientation tag, a PNG with
 * a transparent surround. Deterministic: the variant of picture `k` depends on `k` alone.
 *
 * HELD_OUT_STYLES are further exposures, not in the default set: other gains and lifted blacks
 * than the overexposed style's, a gain alone, and a gamma brightening (no clipping), to check
 * that an exposure rule holds beyond the one exposure it was designed on.
 */
import { encode, enlarge } from '../../src/datasets/fixtures/photos'
import type { Rgba } from '../../src/image/ink'
import { applyOrientation } from '../training/folder/exif-orientation'

export const STYLES = ['originals', 'upscaled', 'letterboxed', 'screenshot', 'off-centre', 'overexposed', 'underexposed', 'exif-rotated', 'transparent'] as const
/** An exposure: each value v times gain plus lift, clipped at 255; or brightened by a gamma (nothing clipped). */
export type Exposure = { gain: number; lift: number } | { gamma: number }

/** The exposures of the default set's over- and underexposed styles. */
export const EXPOSURES = {
  overexposed: { gain: 1.5, lift: 30 },
  underexposed: { gain: 0.45, lift: 0 },
} as const satisfies Record<string, Exposure>

/** Exposures for checking a rule beyond the default set, not in it. */
export const HELD_OUT_EXPOSURES = {
  'over-1.3x': { gain: 1.3, lift: 0 },
  'over-1.3x+50': { gain: 1.3, lift: 50 },
  'over-1.75x+15': { gain: 1.75, lift: 15 },
  'over-2x': { gain: 2, lift: 0 },
  'over-2x+40': { gain: 2, lift: 40 },
  'brightened-gamma2': { gamma: 2 },
} as const satisfies Record<string, Exposure>
export const HELD_OUT_STYLES = Object.keys(HELD_OUT_EXPOSURES) as (keyof typeof HELD_OUT_EXPOSURES)[]
export type Style = (typeof STYLES)[number] | keyof typeof HELD_OUT_EXPOSURES

type Colour = [number, number, number, number]

/** The picture enlarged to side x side px, opaque RGBA. */
function picture(rgb32: Uint8Array, side: number): Rgba {
  const big = enlarge({ width: 32, height: 32, channels: 3, data: rgb32 }, side, side)
  const data = new Uint8ClampedArray(side * side * 4)
  for (let i = 0; i < side * side; i++) data.set([big.data[i * 3], big.data[i * 3 + 1], big.data[i * 3 + 2], 255], i * 4)
  return { width: side, height: side, data }
}

function canvas(width: number, height: number, colour: Colour): Rgba {
  const data = new Uint8ClampedArray(width * height * 4)
  for (let i = 0; i < width * height; i++) data.set(colour, i * 4)
  return { width, height, data }
}

function fill(img: Rgba, x0: number, y0: number, w: number, h: number, colour: Colour): void {
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) img.data.set(colour, (y * img.width + x) * 4)
}

function paste(dst: Rgba, src: Rgba, x0: number, y0: number): Rgba {
  for (let y = 0; y < src.height; y++) dst.data.set(src.data.subarray(y * src.width * 4, (y + 1) * src.width * 4), ((y0 + y) * dst.width + x0) * 4)
  return dst
}

/** The median colour of the picture's outermost pixels: a plain background that continues it. */
function borderColour(rgb32: Uint8Array): Colour {
  const at: number[] = []
  for (let i = 0; i < 32; i++) at.push(i, 31 * 32 + i, i * 32, i * 32 + 31)
  const median = (c: number) => at.map((p) => rgb32[p * 3 + c]).sort((a, b) => a - b)[at.length >> 1]
  return [median(0), median(1), median(2), 255]
}

/** Each colour value v becomes round(v * gain + lift), clipped at 255. */
function exposed(img: Rgba, gain: number, lift: number): Rgba {
  return toned(img, (v) => v * gain + lift)
}

/** Each colour value v becomes round(255 * (v / 255) ^ (1 / gamma)): brighter mid-tones, black and white kept. */
function brightened(img: Rgba, gamma: number): Rgba {
  return toned(img, (v) => 255 * (v / 255) ** (1 / gamma))
}

function toned(img: Rgba, f: (v: number) => number): Rgba {
  const data = new Uint8ClampedArray(img.data.length)
  for (let i = 0; i < data.length; i++) data[i] = i % 4 === 3 ? img.data[i] : Math.round(f(img.data[i]))
  return { ...img, data }
}

/** A JPEG whose pixels are stored turned, with the EXIF orientation `o` that turns them upright. */
function sideways(upright: Rgba, o: 3 | 6 | 8): Buffer {
  const stored = applyOrientation(upright, o === 6 ? 8 : o === 8 ? 6 : 3)
  const jpg = encode(stored, 'jpeg', 85)
  // APP1 "Exif", big-endian TIFF, one IFD with one SHORT entry: Orientation (0x0112) = o
  const tiff = [0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0]
  const body = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff]
  const app1 = Buffer.from([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body])
  return Buffer.concat([jpg.subarray(0, 2), app1, jpg.subarray(2)])
}

/** The exposure a style applies, if it is one of the exposure styles. */
export function exposureOf(style: Style): Exposure | undefined {
  return style in EXPOSURES ? EXPOSURES[style as keyof typeof EXPOSURES] : style in HELD_OUT_EXPOSURES ? HELD_OUT_EXPOSURES[style as keyof typeof HELD_OUT_EXPOSURES] : undefined
}

/** The file of picture `k` (its 32x32 RGB pixels `rgb32`) in `style`. */
export function variant(style: Style, rgb32: Uint8Array, k: number): Buffer {
  const e = exposureOf(style)
  if (e) return encode('gamma' in e ? brightened(picture(rgb32, 512), e.gamma) : exposed(picture(rgb32, 512), e.gain, e.lift), 'jpeg')
  const light: Colour = [255, 255, 255, 255]
  const dark: Colour = [0, 0, 0, 255]
  switch (style) {
    case 'originals': {
      const data = new Uint8ClampedArray(32 * 32 * 4)
      for (let i = 0; i < 32 * 32; i++) data.set([rgb32[i * 3], rgb32[i * 3 + 1], rgb32[i * 3 + 2], 255], i * 4)
      return encode({ width: 32, height: 32, data }, 'png')
    }
    case 'upscaled':
      return encode(picture(rgb32, [256, 384, 512, 768, 1024][k % 5]), k % 2 ? 'jpeg' : 'png')
    case 'letterboxed': {
      // a square picture shown in a 16:9 or 9:16 frame, black or white bars
      const wide = k % 2 === 0
      const frame = canvas(wide ? 640 : 360, wide ? 360 : 640, k % 4 < 2 ? dark : light)
      return encode(paste(frame, picture(rgb32, 360), wide ? 140 : 0, wide ? 0 : 140), k % 3 ? 'png' : 'jpeg')
    }
    case 'screenshot': {
      // a phone screen (status bar, page, navigation bar) or a desktop window with a title bar
      const phone = k % 2 === 0
      const page: Colour = k % 4 < 2 ? [242, 242, 242, 255] : [32, 33, 36, 255]
      const shot = canvas(phone ? 540 : 960, phone ? 960 : 600, page)
      fill(shot, 0, 0, shot.width, phone ? 48 : 36, [26, 115, 232, 255])
      if (phone) fill(shot, 0, 960 - 64, 540, 64, dark)
      const side = phone ? 500 : 320
      return encode(paste(shot, picture(rgb32, side), phone ? 20 : 40 + (k % 3) * 60, phone ? 120 + (k % 5) * 60 : 120), 'png')
    }
    case 'off-centre': {
      // a small picture in one corner of a plain background 2-4 times its size
      const side = 160
      const scale = 2 + (k % 3)
      const bg = canvas(side * scale, Math.round(side * scale * (k % 2 ? 1 : 0.75)), borderColour(rgb32))
      const corner = k % 4
      const x = corner % 2 ? bg.width - side - 12 : 12
      const y = corner < 2 ? 12 : bg.height - side - 12
      return encode(paste(bg, picture(rgb32, side), x, y), k % 2 ? 'jpeg' : 'png')
    }
    case 'exif-rotated': {
      // a 4:3 phone photo (the picture's surroundings mirrored outwards) stored turned
      const side = 768
      const up = picture(rgb32, side)
      const wide = canvas(1024, side, dark)
      for (let y = 0; y < side; y++)
        for (let x = 0; x < 1024; x++) {
          const m = x - 128
          const sx = m < 0 ? -m - 1 : m >= side ? 2 * side - m - 1 : m
          wide.data.set(up.data.subarray((y * side + sx) * 4, (y * side + sx) * 4 + 4), (y * 1024 + x) * 4)
        }
      return sideways(wide, ([6, 8, 3] as const)[k % 3])
    }
    case 'transparent': {
      // a cut-out: the picture on a transparent sheet 1.5-2 times its size, off-centre
      const side = 240
      const sheet = canvas(side * (k % 2 ? 2 : 1.5), side * (k % 2 ? 1.5 : 2), [0, 0, 0, 0])
      return encode(paste(sheet, picture(rgb32, side), (k % 3) * 20, sheet.height - side - (k % 5) * 10), 'png')
    }
  }
  throw new Error(`unknown style ${style}`)
}
