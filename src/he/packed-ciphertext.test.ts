/**
 * The packed response ciphertext: exact bit layout, the rounding bound, a round
 * trip through SEAL at the shipped models' parameters, and hostile sections.
 * The whole server -> client path is in engine.test.ts and shipped-models.test.ts.
 */
import SEAL from 'node-seal'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HeParams } from '../model/manifest'
import { createHeContext, type HeContext, type Seal } from './context'
import { BlindfoldError } from './errors'
import {
  bitLength,
  bitsPerCoefficient,
  droppedBits,
  PACKED_HEADER_BYTES,
  packCiphertext,
  packedBytes,
  plannedPackedBytes,
  PRECISION_BITS,
  sealCiphertextBytes,
  unpackCiphertext,
} from './packed-ciphertext'

const ckks = (polyModulusDegree: number, coeffModulusBits: number[], scaleBits: number): HeParams => ({
  scheme: 'ckks',
  polyModulusDegree,
  coeffModulusBits,
  scaleBits,
  securityLevel: 'tc128',
})
// the shipped models' parameters: mnist-cnn and fashion-cnn, cifar10-cnn
const SMALL = ckks(8192, [50, 33, 33, 33, 60], 33)
const LARGE = ckks(16384, [60, 40, 40, 40, 40, 40, 40, 40, 60], 40)

/** Deterministic pseudo-random coefficients below q. */
function coefficientsBelow(q: bigint, count: number, seed: number): BigUint64Array {
  let x = BigInt(seed) | 1n
  const out = new BigUint64Array(count)
  for (let i = 0; i < count; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn
    out[i] = x % q
  }
  return out
}

const PARMS = [1n, 2n, 3n, 4n]

describe('layout', () => {
  const q0 = (1n << 59n) + 12345n // any odd modulus: the layout does not need a prime

  it('carries every bit of every coefficient when nothing is dropped (scale too small to round)', () => {
    const N = 1024
    const coefficients = coefficientsBelow(q0, 2 * N, 7)
    const raw = sealCiphertextBytes(PARMS, N, { scale: 2 ** 10, droppedBits: 0, coefficients })
    const section = packCiphertext(raw, q0)
    const b = bitLength(q0 - 1n)
    expect(section[1]).toBe(0)
    expect(section[2]).toBe(b)
    expect(section.byteLength).toBe(PACKED_HEADER_BYTES + Math.ceil((2 * N * b) / 8))
    const back = unpackCiphertext(section, N, q0)
    expect(back.coefficients).toEqual(coefficients)
    expect(back.scale).toBe(2 ** 10)
  })

  it('writes values as one little-endian bit stream after a 12-byte header', () => {
    // hand-made: q = 13 (4 bits), two coefficients 5 and 12 per polynomial of N = 1
    const raw = sealCiphertextBytes(PARMS, 1, { scale: 1, droppedBits: 0, coefficients: BigUint64Array.from([5n, 12n]) })
    const section = packCiphertext(raw, 13n)
    expect(Array.from(section.subarray(0, 4))).toEqual([2, 0, 4, 0])
    expect(new DataView(section.buffer).getFloat64(4, true)).toBe(1)
    expect(Array.from(section.subarray(PACKED_HEADER_BYTES))).toEqual([5 | (12 << 4)])
  })

  it('rounds every coefficient to within 2^(k-1) of itself, mod q0', () => {
    const N = 2048
    const coefficients = coefficientsBelow(q0, 2 * N, 11)
    coefficients[0] = q0 - 1n // rounds up past q0: must come back as a small value, not q0 or more
    const raw = sealCiphertextBytes(PARMS, N, { scale: 2 ** 40, droppedBits: 0, coefficients })
    const section = packCiphertext(raw, q0)
    const k = section[1]
    expect(k).toBe(droppedBits(2 ** 40, N, bitLength(q0)))
    expect(k).toBeGreaterThan(10)
    expect(section[2]).toBe(bitsPerCoefficient(q0, k))
    const back = unpackCiphertext(section, N, q0)
    const half = 1n << BigInt(k - 1)
    for (let i = 0; i < 2 * N; i++) {
      const c = back.coefficients[i]
      expect(c < q0).toBe(true)
      let d = (c - coefficients[i] + q0) % q0
      if (d > q0 / 2n) d = q0 - d
      expect(d <= half).toBe(true)
    }
  })
})

describe.each([
  ['N = 8192, q0 of 50 bits, scale 2^33', SMALL],
  ['N = 16384, q0 of 60 bits, scale 2^40', LARGE],
])('through SEAL at %s', (_, params) => {
  let seal: Seal
  let he: HeContext
  beforeAll(async () => {
    seal = await SEAL()
    he = createHeContext(seal, params)
  })
  afterAll(() => he.dispose())

  it('decrypts to the unpacked values within the stated precision, in the planned size', () => {
    const N = params.polyModulusDegree
    const { context, levels, q0 } = he
    const keygen = new seal.KeyGenerator(context)
    const secret = keygen.secretKey()
    const pub = keygen.createPublicKey()
    const encryptor = new seal.Encryptor(context, pub)
    const decryptor = new seal.Decryptor(context, secret)
    const encoder = new seal.CKKSEncoder(context)
    const evaluator = new seal.Evaluator(context)
    const [plain, ct, loaded] = [new seal.Plaintext(), new seal.Ciphertext(), new seal.Ciphertext()]
    try {
      const values = Float64Array.from({ length: N / 2 }, (_, i) => Math.sin(i) * 20)
      encoder.encode(values, 2 ** params.scaleBits, plain)
      encryptor.encrypt(plain, ct)
      const last = levels[levels.length - 1].parmsId
      evaluator.cipherModSwitchToInplace(ct, last)
      decryptor.decrypt(ct, plain)
      const exact = Float64Array.from(encoder.decodeFloat64(plain) as ArrayLike<number>)

      evaluator.cipherTransformFromNttInplace(ct)
      const section = packCiphertext(ct.saveToArray(seal.ComprModeType.none) as Uint8Array, q0)
      expect(section.byteLength).toBe(plannedPackedBytes(N, params.coeffModulusBits[0], params.scaleBits))
      const packed = unpackCiphertext(section, N, q0)
      loaded.loadFromArray(context, sealCiphertextBytes(last.values() as BigUint64Array, N, packed))
      expect(loaded.isNttForm()).toBe(false)
      evaluator.cipherTransformToNttInplace(loaded)
      decryptor.decrypt(loaded, plain)
      const back = Float64Array.from(encoder.decodeFloat64(plain) as ArrayLike<number>)
      let sq = 0
      for (let i = 0; i < values.length; i++) sq += (back[i] - exact[i]) ** 2
      const rms = Math.sqrt(sq / values.length)
      // the bound is on the standard deviation, within the factor sqrt(2) droppedBits allows
      expect(rms).toBeLessThan(Math.SQRT2 * 2 ** -PRECISION_BITS)
      expect(rms).toBeGreaterThan(0) // something was dropped: the comparison is not vacuous
      expect(packed.droppedBits).toBeGreaterThan(0)
    } finally {
      for (const o of [plain, ct, loaded, evaluator, encoder, decryptor, encryptor, pub, secret, keygen]) o.delete()
    }
  })
})

describe('refuses a hostile section with a clear error', () => {
  const q0 = (1n << 49n) + 99n
  const N = 3 // 2N values of b bits end mid-byte, so the padding check has bits to look at
  const good = () => packCiphertext(sealCiphertextBytes(PARMS, N, { scale: 2 ** 33, droppedBits: 0, coefficients: coefficientsBelow(q0, 2 * N, 3) }), q0)
  const codeOf = (section: Uint8Array) => {
    try {
      unpackCiphertext(section, N, q0)
      return 'accepted'
    } catch (e) {
      return e instanceof BlindfoldError ? e.code : String(e)
    }
  }
  const edited = (edit: (s: Uint8Array, v: DataView) => void) => {
    const s = good()
    edit(s, new DataView(s.buffer))
    return s
  }

  it('accepts the untouched section', () => expect(codeOf(good())).toBe('accepted'))
  it('too short for its header', () => expect(codeOf(good().subarray(0, 11))).toBe('wrong_object_size'))
  it('three polynomials', () => expect(codeOf(edited((s) => (s[0] = 3)))).toBe('wrong_size'))
  it('reserved byte set', () => expect(codeOf(edited((s) => (s[3] = 1)))).toBe('bad_container'))
  it('every bit dropped', () => expect(codeOf(edited((s) => ((s[1] = 50), (s[2] = 0))))).toBe('bad_container'))
  it('a bit width that does not match k', () => expect(codeOf(edited((s) => (s[2] += 1)))).toBe('bad_container'))
  it('scale NaN, 0 or infinite', () => {
    for (const scale of [NaN, 0, Infinity, -(2 ** 33)]) expect(codeOf(edited((_, v) => v.setFloat64(4, scale, true)))).toBe('wrong_scale')
  })
  it('one byte short or long', () => {
    const s = good()
    expect(codeOf(s.subarray(0, s.byteLength - 1))).toBe('wrong_object_size')
    const longer = new Uint8Array(s.byteLength + 1)
    longer.set(s)
    expect(codeOf(longer)).toBe('wrong_object_size')
  })
  it('padding bits after the last value set', () => {
    const s = good()
    const b = s[2]
    if ((2 * N * b) % 8 === 0) return expect.fail('choose N and q0 so the stream ends mid-byte')
    s[s.byteLength - 1] |= 0x80
    expect(codeOf(s)).toBe('bad_container')
  })
  it('sizes follow the formula', () => expect(good().byteLength).toBe(packedBytes(N, bitsPerCoefficient(q0, good()[1]))))
})
