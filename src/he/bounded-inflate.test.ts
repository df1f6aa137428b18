/**
 * The bounded inflater against real SEAL output and hand-built bombs: a real
 * section inflates to exactly SEAL's uncompressed bytes; a frame that declares
 * or produces more than the plan expects is refused before or while decoding,
 * never by allocating what it asks for.
 */
import SEAL from 'node-seal'
import { beforeAll, describe, expect, it } from 'vitest'
import { createHeContext, type HeContext } from './context'
import { BlindfoldError } from './errors'
import { inflateExact, inspectZstdFrame } from './bounded-inflate'
import { ciphertextSizes } from './object-sizes'
import { DEFAULT_HE_PARAMS } from './params'
import { uncompressedSealObject } from './seal-header'
import { rleFrame, sealZstdSection } from './test-support/zstd-frames'
import { codeOf } from './test-support/error-code'


let he: HeContext
beforeAll(async () => {
  he = createHeContext(await SEAL(), DEFAULT_HE_PARAMS)
})

/** The same seeded ciphertext saved twice: uncompressed and zstd. */
function savedBothWays(): { none: Uint8Array; zstd: Uint8Array } {
  const { seal, context } = he
  const keygen = new seal.KeyGenerator(context)
  const sk = keygen.secretKey()
  const pk = keygen.createPublicKey()
  const encryptor = new seal.Encryptor(context, pk, sk)
  const encoder = new seal.CKKSEncoder(context)
  const plain = new seal.Plaintext()
  try {
    encoder.encode(Float64Array.from({ length: 4096 }, (_, i) => Math.sin(i)), 2 ** 33, plain)
    const ct = encryptor.encryptSymmetricSerializable(plain)
    try {
      return { none: ct.saveToArray(seal.ComprModeType.none) as Uint8Array, zstd: ct.saveToArray(seal.ComprModeType.zstd) as Uint8Array }
    } finally {
      ct.delete()
    }
  } finally {
    for (const h of [plain, encoder, encryptor, pk, sk, keygen]) h.delete()
  }
}

describe('real SEAL sections', () => {
  it('inflates a zstd ciphertext to exactly SEAL\'s uncompressed bytes, re-headed as uncompressed', () => {
    const { none, zstd } = savedBothWays()
    expect(zstd.byteLength).toBeLessThan(none.byteLength)
    const sizes = ciphertextSizes(8192, 4)
    expect(none.byteLength).toBe(sizes.seeded)
    const out = uncompressedSealObject(zstd, [sizes.seeded, sizes.full], 'ct')
    expect(Buffer.from(out).equals(Buffer.from(none))).toBe(true)
    // and SEAL loads it
    const ct = new he.seal.Ciphertext()
    try {
      ct.loadFromArray(he.context, out)
      expect(ct.size()).toBe(2)
    } finally {
      ct.delete()
    }
  })

  it('passes an uncompressed section of an expected size through, refuses other sizes', () => {
    const { none } = savedBothWays()
    const sizes = ciphertextSizes(8192, 4)
    expect(uncompressedSealObject(none, [sizes.seeded], 'ct')).toBe(none)
    expect(codeOf(() => uncompressedSealObject(none, [sizes.full], 'ct'))).toBe('wrong_object_size')
  })

  it('refuses a real section whose expected size is smaller (a request meant for a smaller chain)', () => {
    const { zstd } = savedBothWays()
    expect(codeOf(() => uncompressedSealObject(zstd, [ciphertextSizes(8192, 3).seeded], 'ct'))).toBe('wrong_object_size')
  })

  it('never throws anything but a BlindfoldError on corrupted frames (1,000 random byte flips)', () => {
    const { zstd } = savedBothWays()
    const sizes = ciphertextSizes(8192, 4)
    let seed = 12345
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    let refused = 0
    for (let i = 0; i < 1000; i++) {
      const bad = zstd.slice()
      const flips = 1 + Math.floor(random() * 4)
      // mostly the frame header and first blocks, where structure lives
      for (let f = 0; f < flips; f++) bad[16 + Math.floor(random() * (random() < 0.7 ? 64 : bad.length - 16))] ^= 1 << Math.floor(random() * 8)
      try {
        const out = uncompressedSealObject(bad, [sizes.seeded, sizes.full], 'ct')
        expect([sizes.seeded, sizes.full]).toContain(out.byteLength)
      } catch (e) {
        expect(e).toBeInstanceOf(BlindfoldError)
        refused++
      }
    }
    expect(refused).toBeGreaterThan(0)
  })
})

describe('decompression bombs', () => {
  it('refuses a frame declaring 4 GB before decoding any block', () => {
    // 65,000 RLE blocks of 128 KB: ~260 KB that would inflate to ~8.5 GB
    const frame = rleFrame({ contentSize: 4 * 2 ** 30, windowLog: 17, blocks: 65_000 })
    expect(frame.byteLength).toBeLessThan(300_000)
    expect(codeOf(() => inspectZstdFrame(frame, 300_000, 'x'))).toBe('wrong_object_size')
    expect(codeOf(() => uncompressedSealObject(sealZstdSection(frame), [262_338], 'x'))).toBe('wrong_object_size')
  })

  it('stops a frame that declares the expected size but produces more, at the bound', () => {
    const expected = 262_338 - 16
    const frame = rleFrame({ contentSize: expected, windowLog: 17, blocks: 65_000 })
    const before = process.memoryUsage().rss
    let message = ''
    try {
      inflateExact(frame, [expected], 'x')
    } catch (e) {
      expect(e).toBeInstanceOf(BlindfoldError)
      expect((e as BlindfoldError).code).toBe('wrong_object_size')
      message = (e as Error).message
    }
    expect(message).toMatch(/inflates past its declared/)
    // the output buffer is the expected size; nothing near the 8.5 GB the blocks describe
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20)
  })

  it('refuses a frame that produces less than it declares', () => {
    const frame = rleFrame({ contentSize: 300_000, windowLog: 19, blocks: 2 })
    expect(codeOf(() => inflateExact(frame, [300_000], 'x'))).toBe('wrong_object_size')
  })

  it('inflates an honest hand-built frame exactly', () => {
    const frame = rleFrame({ contentSize: 3 * 131_072, windowLog: 17, blocks: 3, checksum: true })
    const out = inflateExact(frame, [3 * 131_072], 'x')
    expect(out.byteLength).toBe(3 * 131_072)
    expect(out.every((b) => b === 0x41)).toBe(true)
  })

  it('refuses frames without a declared size, with a dictionary, with a huge window, or followed by more bytes', () => {
    expect(codeOf(() => inspectZstdFrame(rleFrame({ windowLog: 17, blocks: 2 }), 1e6, 'x'))).toBe('bad_compression')
    expect(codeOf(() => inspectZstdFrame(rleFrame({ contentSize: 262_144, windowLog: 17, blocks: 2, dictionary: true }), 1e6, 'x'))).toBe('bad_compression')
    // a 2 GB window for 256 KB of content: the decoder would allocate the window
    expect(codeOf(() => inspectZstdFrame(rleFrame({ contentSize: 262_144, windowLog: 31, blocks: 2 }), 1e6, 'x'))).toBe('bad_compression')
    const one = rleFrame({ contentSize: 262_144, windowLog: 17, blocks: 2 })
    const two = new Uint8Array(one.byteLength * 2)
    two.set(one)
    two.set(one, one.byteLength)
    expect(codeOf(() => inspectZstdFrame(two, 1e6, 'x'))).toBe('bad_compression')
    expect(codeOf(() => inspectZstdFrame(one.subarray(0, one.byteLength - 2), 1e6, 'x'))).toBe('bad_compression')
    expect(codeOf(() => inspectZstdFrame(Uint8Array.from([1, 2, 3, 4, 5, 6, 7]), 1e6, 'x'))).toBe('bad_compression')
  })
})
