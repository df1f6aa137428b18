import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { greyPixels, HEAD_BYTES, hexRows, sampleWire, WINDOW_SIDE } from './wire-sample'

const body = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff)

describe('sampleWire', () => {
  it('keeps the head, a middle window of the real bytes and the hash it is given, not the whole body', () => {
    const bytes = body(100_000)
    const sha = createHash('sha256').update(bytes).digest('hex')
    const s = sampleWire(bytes, sha)
    expect(s.byteLength).toBe(100_000)
    expect(s.sha256).toBe(sha)
    expect(s.head).toEqual(bytes.subarray(0, HEAD_BYTES))
    expect(s.window.length).toBe(WINDOW_SIDE * WINDOW_SIDE)
    expect(s.windowOffset).toBe((100_000 - WINDOW_SIDE * WINDOW_SIDE) / 2)
    expect(s.window).toEqual(bytes.subarray(s.windowOffset, s.windowOffset + s.window.length))
  })

  it('copies what it keeps, so the body itself can be dropped or reused', () => {
    const bytes = body(10_000)
    const s = sampleWire(bytes, '')
    expect(s.head.buffer).not.toBe(bytes.buffer)
    expect(s.window.buffer).not.toBe(bytes.buffer)
    const before = s.window[0]
    bytes.fill(0)
    expect(s.window[0]).toBe(before)
  })

  it('keeps all of a body shorter than the window', () => {
    const bytes = body(20)
    const s = sampleWire(bytes, '')
    expect(s.windowOffset).toBe(0)
    expect(s.window).toEqual(bytes)
    expect(s.head).toEqual(bytes)
  })
})

describe('hexRows', () => {
  it('writes the offset and the bytes, a row at a time', () => {
    const bytes = Uint8Array.from([0x42, 0x4c, 0x46, 0x44, 0x02, 0x02, 0x01, 0x00, 0xff, 0x41])
    expect(hexRows(bytes, 0x10)).toEqual(['0010  42 4c 46 44 02 02 01 00', '0018  ff 41'])
    expect(hexRows(bytes, 0x1fff8, 4)).toEqual(['1fff8  42 4c 46 44', '1fffc  02 02 01 00', '20000  ff 41'])
  })

  it('writes nothing for no bytes', () => {
    expect(hexRows(new Uint8Array(0))).toEqual([])
  })
})

describe('greyPixels', () => {
  it('makes one opaque grey pixel per byte, row by row, the rest transparent', () => {
    const { width, height, rgba } = greyPixels(Uint8Array.from([0, 128, 255]), 2)
    expect([width, height]).toEqual([2, 2])
    expect(Array.from(rgba)).toEqual([0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 0, 0, 0, 0])
  })
})
