import jpegJs from 'jpeg-js'
import { PNG } from 'pngjs'
import { describe, expect, it } from 'vitest'
import { declaredSize } from './image-dimensions'

const rgba = (w: number, h: number) => Buffer.alloc(w * h * 4, 200)

function pngBytes(w: number, h: number): Uint8Array {
  const png = new PNG({ width: w, height: h })
  png.data = rgba(w, h)
  return new Uint8Array(PNG.sync.write(png))
}

function jpegBytes(w: number, h: number): Uint8Array {
  return new Uint8Array(jpegJs.encode({ data: rgba(w, h), width: w, height: h }, 80).data)
}

/** inserts an APP1 (Exif-like) segment of `size` payload bytes after SOI, as cameras do before the frame header */
function withApp1(jpeg: Uint8Array, size: number): Uint8Array {
  const seg = new Uint8Array(4 + size)
  seg.set([0xff, 0xe1, (size + 2) >> 8, (size + 2) & 0xff])
  return new Uint8Array([...jpeg.subarray(0, 2), ...seg, ...jpeg.subarray(2)])
}

const le16 = (v: number) => [v & 0xff, v >> 8]
const le32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff]
const text = (s: string) => [...s].map((c) => c.charCodeAt(0))

// headers laid out per the GIF89a, BMP (BITMAPINFOHEADER / BITMAPCOREHEADER) and WebP container specs
const gif = (w: number, h: number) => new Uint8Array([...text('GIF89a'), ...le16(w), ...le16(h), 0, 0, 0])
const bmp = (w: number, h: number) => new Uint8Array([...text('BM'), ...le32(54), 0, 0, 0, 0, ...le32(54), ...le32(40), ...le32(w), ...le32(h), 1, 0, 24, 0, ...Array(24).fill(0)])
const bmpCore = (w: number, h: number) => new Uint8Array([...text('BM'), ...le32(26), 0, 0, 0, 0, ...le32(26), ...le32(12), ...le16(w), ...le16(h), 1, 0, 24, 0, 0, 0, 0, 0])
const riff = (chunk: string, payload: number[]) =>
  new Uint8Array([...text('RIFF'), ...le32(4 + 8 + payload.length), ...text('WEBP'), ...text(chunk), ...le32(payload.length), ...payload, ...Array(8).fill(0)])
const webpVp8x = (w: number, h: number) =>
  riff('VP8X', [0, 0, 0, 0, (w - 1) & 0xff, ((w - 1) >> 8) & 0xff, (w - 1) >> 16, (h - 1) & 0xff, ((h - 1) >> 8) & 0xff, (h - 1) >> 16])
const webpVp8l = (w: number, h: number) => riff('VP8L', [0x2f, ...le32((w - 1) | ((h - 1) << 14))])
const webpVp8 = (w: number, h: number) => riff('VP8 ', [0, 0, 0, 0x9d, 0x01, 0x2a, ...le16(w), ...le16(h)])

describe('declaredSize', () => {
  it.each([
    ['png', pngBytes(37, 21), 37, 21],
    ['jpeg', jpegBytes(33, 18), 33, 18],
    ['jpeg with a 60 KB Exif segment first', withApp1(jpegBytes(12, 40), 60_000), 12, 40],
    ['gif', gif(10_000, 6_000), 10_000, 6_000],
    ['bmp', bmp(9_000, -8_000), 9_000, 8_000],
    ['bmp, OS/2 core header', bmpCore(640, 480), 640, 480],
    ['webp VP8X', webpVp8x(12_000, 9_000), 12_000, 9_000],
    ['webp VP8L', webpVp8l(16_384, 5), 16_384, 5],
    ['webp VP8', webpVp8(1_000, 700), 1_000, 700],
  ])('reads %s', (_, bytes, width, height) => {
    expect(declaredSize(bytes)).toMatchObject({ width, height })
  })

  it('reads the declared size of a 60-megapixel PNG that is only a few KB', () => {
    const header = pngBytes(1, 1).subarray(0, 33)
    new DataView(header.buffer, header.byteOffset).setUint32(16, 10_000)
    new DataView(header.buffer, header.byteOffset).setUint32(20, 6_000)
    expect(declaredSize(header)).toEqual({ format: 'png', width: 10_000, height: 6_000 })
  })

  it('gives up (undefined) on unknown formats, a JPEG whose frame header lies past the bytes read, and text', () => {
    expect(declaredSize(new TextEncoder().encode('This is a text file with an image extension.\n'))).toBeUndefined()
    expect(declaredSize(withApp1(jpegBytes(8, 8), 60_000).subarray(0, 30_000))).toBeUndefined()
    expect(declaredSize(new Uint8Array(0))).toBeUndefined()
  })

  it('never throws on truncated or random bytes behind a valid signature', () => {
    let seed = 42
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff
    const prefixes = [pngBytes(4, 4), jpegBytes(4, 4), gif(4, 4), bmp(4, 4), webpVp8x(4, 4), webpVp8l(4, 4), webpVp8(4, 4)]
    for (const prefix of prefixes) {
      for (let cut = 0; cut <= Math.min(prefix.length, 64); cut++) {
        const bytes = new Uint8Array(cut + (cut % 7) * 5)
        bytes.set(prefix.subarray(0, cut))
        for (let i = cut; i < bytes.length; i++) bytes[i] = random()
        expect(() => declaredSize(bytes)).not.toThrow()
      }
    }
  })
})
