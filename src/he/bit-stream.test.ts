import { describe, expect, it } from 'vitest'
import { BitReader, BitWriter, packWords, unpackWords } from './bit-stream'

/** The layout spelled out one bit at a time: the reference the fast writer must match. */
function referenceStream(values: bigint[], widths: number[]): Uint8Array {
  const total = widths.reduce((a, b) => a + b, 0)
  const out = new Uint8Array(Math.ceil(total / 8))
  let j = 0
  values.forEach((v, i) => {
    for (let k = 0; k < widths[i]; k++, j++) if ((v >> BigInt(k)) & 1n) out[j >> 3] |= 1 << (j & 7)
  })
  return out
}

function randomValues(count: number, seed: number, widthOf: (i: number) => number) {
  let x = seed >>> 0
  const next = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0), x)
  const widths = Array.from({ length: count }, (_, i) => widthOf(i))
  const values = widths.map((w) => ((BigInt(next()) << 32n) | BigInt(next())) & ((1n << BigInt(w)) - 1n))
  return { widths, values }
}

describe('bit streams', () => {
  it('writes the documented layout for every width from 1 to 64, mixed in one stream', () => {
    const { widths, values } = randomValues(2000, 7, (i) => 1 + ((i * 37) % 64))
    const expected = referenceStream(values, widths)
    const out = new Uint8Array(expected.byteLength)
    const writer = new BitWriter(out, 0)
    values.forEach((v, i) => writer.write(Number(v & 0xffffffffn), Number(v >> 32n), widths[i]))
    expect(writer.end()).toBe(expected.byteLength)
    expect(out).toEqual(expected)

    const reader = new BitReader(out, 0)
    expect(values.map((_, i) => reader.read(widths[i]))).toEqual(values)
    expect(reader.rest()).toBe(0)
  })

  it('keeps the extremes of a width: all ones, zero, and 32-bit values at every offset', () => {
    for (const w of [1, 31, 32, 33, 60, 64]) {
      const values = [(1n << BigInt(w)) - 1n, 0n, (1n << BigInt(w)) - 1n, 1n]
      for (let lead = 0; lead < 8; lead++) {
        const widths = [lead, ...values.map(() => w)].filter((x) => x > 0)
        const all = lead > 0 ? [0n, ...values] : values
        const expected = referenceStream(all, widths)
        const out = new Uint8Array(expected.byteLength + 2).fill(0)
        const writer = new BitWriter(out, 1)
        all.forEach((v, i) => writer.write(Number(v & 0xffffffffn), Number(v >> 32n), widths[i]))
        writer.end()
        expect(out.subarray(1, 1 + expected.byteLength)).toEqual(expected)
        const reader = new BitReader(out, 1)
        expect(all.map((_, i) => reader.read(widths[i]))).toEqual(all)
      }
    }
  })

  it('ignores bits above the width and refuses to read past its limit', () => {
    const out = new Uint8Array(1)
    const writer = new BitWriter(out, 0)
    writer.write(0xff, 0, 3)
    writer.end()
    expect(out[0]).toBe(0b111)
    const reader = new BitReader(out, 0, 1)
    expect(reader.read32(8)).toBe(7)
    expect(() => reader.read32(1)).toThrow(RangeError)
  })
})

describe('packWords and unpackWords', () => {
  it.each([1, 5, 20, 31, 32, 33, 40, 50, 60, 63, 64])('match the reference stream at %i bits, and read back every value', (bits) => {
    const count = 1024
    const { values } = randomValues(count, bits, () => bits)
    const widths = values.map(() => bits)
    const src = new Uint32Array(2 * count + 4)
    values.forEach((v, i) => {
      src[4 + 2 * i] = Number(v & 0xffffffffn)
      src[5 + 2 * i] = Number(v >> 32n)
    })
    const dst = new Uint32Array((count * bits) / 32 + 3)
    expect(packWords(src, 4, count, bits, dst, 3)).toBe(dst.length)
    expect(new Uint8Array(dst.buffer, 12)).toEqual(referenceStream(values, widths))

    const back = new Uint32Array(2 * count)
    expect(unpackWords(dst, 3, count, bits, back, 0, 0xffffffff, 0xffffffff)).toBe(-1)
    const read = values.map((_, i) => (BigInt(back[2 * i + 1]) << 32n) | BigInt(back[2 * i]))
    expect(read).toEqual(values)
  })

  it('drops bits above the width when packing, and stops at the first value not below the limit', () => {
    const src = Uint32Array.from([0xffffffff, 0xffffffff, 5, 0, 7, 0, 9, 0])
    const dst = new Uint32Array(1)
    packWords(src, 0, 4, 8, dst, 0)
    expect(dst[0]).toBe((0xff | (5 << 8) | (7 << 16) | (9 << 24)) >>> 0)
    const back = new Uint32Array(8)
    expect(unpackWords(dst, 0, 4, 8, back, 0, 8, 0)).toBe(0)
    expect(unpackWords(dst, 0, 4, 8, back, 0, 0x100, 0)).toBe(-1)
    expect(unpackWords(dst, 0, 4, 8, back, 0, 9, 0)).toBe(0)
    expect(() => unpackWords(dst, 1, 4, 8, back, 0, 9, 0)).toThrow(RangeError)
  })
})
