import { describe, expect, it } from 'vitest'
import { loadSeal } from './context'
import { BlindfoldError } from './errors'
import { checkSealSection, ComprMode, parseSealHeader } from './seal-header'

function header(fields: Partial<{ magic: number; headerSize: number; major: number; minor: number; compr: number; reserved: number; size: bigint }>, bodyLength = 8) {
  const bytes = new Uint8Array(16 + bodyLength)
  const v = new DataView(bytes.buffer)
  v.setUint16(0, fields.magic ?? 0xa15e, true)
  v.setUint8(2, fields.headerSize ?? 16)
  v.setUint8(3, fields.major ?? 4)
  v.setUint8(4, fields.minor ?? 1)
  v.setUint8(5, fields.compr ?? ComprMode.zstd)
  v.setUint16(6, fields.reserved ?? 0, true)
  v.setBigUint64(8, fields.size ?? BigInt(bytes.byteLength), true)
  return bytes
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (e) {
    if (e instanceof BlindfoldError) return e.code
    throw e
  }
  return undefined
}

describe('SEAL header', () => {
  it('accepts a well-formed header and reports its fields', () => {
    const h = checkSealSection(header({}), 'x')
    expect(h).toEqual({ versionMajor: 4, versionMinor: 1, comprMode: ComprMode.zstd, size: 24 })
  })

  it('reads the header SEAL itself writes, with the real object length', async () => {
    const seal = await loadSeal()
    const parms = new seal.EncryptionParameters(seal.SchemeType.ckks)
    try {
      parms.setPolyModulusDegree(4096)
      const bytes = parms.saveToArray(seal.ComprModeType.zstd) as Uint8Array
      const h = checkSealSection(bytes, 'parms')
      expect(h.comprMode).toBe(ComprMode.zstd)
      expect(h.size).toBe(bytes.byteLength)
      expect(h.versionMajor).toBe(4)
      const none = parms.saveToArray(seal.ComprModeType.none) as Uint8Array
      expect(parseSealHeader(none).comprMode).toBe(ComprMode.none)
    } finally {
      parms.delete()
    }
  })

  it.each([
    ['short', new Uint8Array(15)],
    ['magic', header({ magic: 0x1234 })],
    ['header size', header({ headerSize: 24 })],
    ['major version', header({ major: 3 })],
    ['reserved bits', header({ reserved: 1 })],
    ['size too large', header({ size: 25n })],
    ['size too small', header({ size: 16n })],
    ['size beyond 2^53', header({ size: 2n ** 63n })],
  ])('refuses %s with bad_seal_header', (_name, bytes) => {
    expect(codeOf(() => checkSealSection(bytes, 'x'))).toBe('bad_seal_header')
  })

  it('refuses zlib and unknown compression modes', () => {
    expect(codeOf(() => checkSealSection(header({ compr: ComprMode.zlib }), 'x'))).toBe('unsupported_compression')
    expect(codeOf(() => checkSealSection(header({ compr: 7 }), 'x'))).toBe('unsupported_compression')
    expect(codeOf(() => checkSealSection(header({ compr: ComprMode.none }), 'x', [ComprMode.zstd]))).toBe('unsupported_compression')
  })

  it('reads a header inside a larger buffer at an offset', () => {
    const inner = header({})
    const outer = new Uint8Array(inner.byteLength + 10)
    outer.set(inner, 5)
    expect(checkSealSection(outer.subarray(5, 5 + inner.byteLength), 'x').size).toBe(inner.byteLength)
  })
})
