/**
 * One seeded ciphertext, as SEAL saves it uncompressed and as a packed section carries it.
 * SEAL stores a seeded ciphertext's second polynomial as the seed it expands from; a packed
 * block is that 64-byte seed, then the stored polynomial prime by prime, every coefficient
 * in the bits of its prime (bit-stream.ts). Evaluation keys (packed-keys.ts) are tables of
 * these, and a fresh symmetric encryption is one.
 *
 * SEAL's layout (object-sizes.ts): header 16, parms id 32, NTT flag 1, size 8, N 8, primes 8,
 * scale 8, correction factor 8 (= 89), the coefficient array's header 16 and count 8 (= 113),
 * one polynomial (N words per prime), then the generator info: header 16, PRNG type 1, seed 64.
 *
 * Streams are handled as 32-bit words: the documented byte stream on a little-endian machine,
 * which every JS engine that runs WebAssembly is in practice; refused otherwise.
 * Isomorphic: no DOM, no Node APIs.
 */
import { packWords, unpackWords } from './bit-stream'
import { BlindfoldError } from './errors'
import { bitLength } from './packed-ciphertext'
import { CiphertextField, readU64, SEAL_HEADER_SIZE, writeSealHeader, writeU64 } from './seal-header'

export const SEED_BYTES = 64
/** SEAL's prng_type values a seed may name: BLAKE2xb, SHAKE256 */
export const PRNG_TYPES: readonly number[] = [1, 2]

const { parmsId: PARMS_ID, ntt: NTT, size: SIZE, degree: DEGREE, primes: PRIMES, scale: SCALE, correction: CORRECTION, array: ARRAY, data: DATA } = CiphertextField
/** the generator info after the coefficients: header 16, PRNG type 1, seed 64 */
const INFO_BYTES = 81

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1

/** What every ciphertext of one kind shares: public, from the model's parameters. */
export interface SeededShape {
  polyModulusDegree: number
  /** the level's primes, exactly, in SEAL's order */
  primes: readonly bigint[]
  /** the level's parms id, four words */
  parmsId: readonly bigint[]
  /** 1 for a key, the encoding scale for an encrypted input */
  scale: number
}

/** Bytes of SEAL's saved seeded ciphertext of this shape. */
export function sealSeededBytes(shape: SeededShape): number {
  return DATA + 8 * shape.polyModulusDegree * shape.primes.length + INFO_BYTES
}

/** Bits per coefficient of each prime: bitLength(q - 1). */
export function primeBits(shape: Pick<SeededShape, 'primes'>): number[] {
  return shape.primes.map((q) => bitLength(q - 1n))
}

/** Bytes of one packed block: the seed, then N * bits / 8 per prime (whole words: N >= 4096). */
export function packedSeededBytes(polyModulusDegree: number, bits: readonly number[]): number {
  return SEED_BYTES + bits.reduce((n, b) => n + (polyModulusDegree * b) / 8, 0)
}

/**
 * Client side: copies the seed and packs the coefficients of the seeded ciphertext SEAL saved
 * at `raw[at]` into `out` from word `into`, after checking it has this shape.
 */
export class SeededPacker {
  private readonly bits: number[]
  private readonly coefficients: Uint32Array // one ciphertext's words, aligned
  private readonly coefficientBytes: Uint8Array
  /** the PRNG type of the seeds packed so far (0 before the first) */
  prng = 0

  constructor(
    private readonly shape: SeededShape,
    private readonly fail: (message: string) => Error,
  ) {
    if (!LITTLE_ENDIAN) throw new BlindfoldError('internal', 'packed sections need a little-endian machine')
    this.bits = primeBits(shape)
    this.coefficients = new Uint32Array(2 * shape.polyModulusDegree * shape.primes.length)
    this.coefficientBytes = new Uint8Array(this.coefficients.buffer)
  }

  /** Packs the ciphertext at `at`; returns the offset after it in `raw` and the word after it in `out`. */
  pack(raw: Uint8Array, at: number, out: Uint32Array, into: number, what: string): { at: number; into: number } {
    const { polyModulusDegree: N, primes, parmsId, scale } = this.shape
    const K = primes.length
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
    const u64 = (o: number) => readU64(view, o)
    const end = at + sealSeededBytes(this.shape)
    if (
      end > raw.byteLength ||
      u64(at + 8) !== sealSeededBytes(this.shape) ||
      !parmsId.every((w, i) => view.getBigUint64(at + PARMS_ID + 8 * i, true) === w) ||
      view.getUint8(at + NTT) !== 1 ||
      u64(at + SIZE) !== 2 ||
      u64(at + DEGREE) !== N ||
      u64(at + PRIMES) !== K ||
      view.getFloat64(at + SCALE, true) !== scale ||
      u64(at + CORRECTION) !== 1
    ) {
      throw this.fail(`${what} is not a seeded ciphertext of this level and scale`)
    }
    const info = end - INFO_BYTES
    const type = view.getUint8(info + SEAL_HEADER_SIZE)
    if (!PRNG_TYPES.includes(type) || (this.prng !== 0 && type !== this.prng)) throw this.fail(`${what}: PRNG type ${type}`)
    this.prng = type
    new Uint8Array(out.buffer, out.byteOffset + 4 * into, SEED_BYTES).set(raw.subarray(info + SEAL_HEADER_SIZE + 1, end))
    let word = into + SEED_BYTES / 4
    this.coefficientBytes.set(raw.subarray(at + DATA, info))
    for (let p = 0; p < K; p++) word = packWords(this.coefficients, 2 * N * p, N, this.bits[p], out, word)
    return { at: end, into: word }
  }
}

/**
 * Server side: writes SEAL's seeded ciphertext of this shape at `out[at]` from the packed
 * block at word `from` of `packed`, refusing a coefficient at or above its prime.
 */
export class SeededWriter {
  private readonly bits: number[]
  private readonly qLo: number[]
  private readonly qHi: number[]
  private readonly coefficients: Uint32Array
  private readonly coefficientBytes: Uint8Array

  constructor(
    private readonly shape: SeededShape,
    private readonly bad: (message: string) => Error,
  ) {
    if (!LITTLE_ENDIAN) throw new BlindfoldError('internal', 'packed sections need a little-endian machine')
    this.bits = primeBits(shape)
    this.qLo = shape.primes.map((q) => Number(q & 0xffffffffn))
    this.qHi = shape.primes.map((q) => Number(q >> 32n))
    this.coefficients = new Uint32Array(2 * shape.polyModulusDegree * shape.primes.length)
    this.coefficientBytes = new Uint8Array(this.coefficients.buffer)
  }

  /** Returns the offset after the ciphertext in `out` and the word after the block in `packed`. */
  write(out: Uint8Array, at: number, packed: Uint32Array, from: number, prng: number, what: string): { at: number; from: number } {
    const { polyModulusDegree: N, primes, parmsId, scale } = this.shape
    const K = primes.length
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
    const setU64 = (o: number, v: number) => writeU64(view, o, v)
    writeSealHeader(view, at, sealSeededBytes(this.shape))
    parmsId.forEach((w, i) => view.setBigUint64(at + PARMS_ID + 8 * i, w, true))
    view.setUint8(at + NTT, 1)
    setU64(at + SIZE, 2)
    setU64(at + DEGREE, N)
    setU64(at + PRIMES, K)
    view.setFloat64(at + SCALE, scale, true)
    setU64(at + CORRECTION, 1)
    writeSealHeader(view, at + ARRAY, DATA - ARRAY + 8 * N * K)
    setU64(at + ARRAY + SEAL_HEADER_SIZE, N * K)
    const seed = new Uint8Array(packed.buffer, packed.byteOffset + 4 * from, SEED_BYTES)
    let word = from + SEED_BYTES / 4
    for (let p = 0; p < K; p++) {
      const b = this.bits[p]
      const bad = unpackWords(packed, word, N, b, this.coefficients, 2 * N * p, this.qLo[p], this.qHi[p])
      if (bad >= 0) throw this.bad(`${what}: coefficient ${bad} of prime ${p} is not below the prime`)
      word += (N * b) / 32
    }
    out.set(this.coefficientBytes, at + DATA)
    const info = at + DATA + 8 * N * K
    writeSealHeader(view, info, INFO_BYTES)
    view.setUint8(info + SEAL_HEADER_SIZE, prng)
    out.set(seed, info + SEAL_HEADER_SIZE + 1)
    return { at: info + INFO_BYTES, from: word }
  }
}
