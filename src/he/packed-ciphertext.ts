/**
 * The response ciphertext, packed: its coefficients (not NTT values) mod the
 * last prime q0, each rounded to a multiple of 2^k and sent as a b-bit integer.
 *
 * Why: a response is one ciphertext at the last level, 2 x N coefficients below
 * q0. SEAL saves each in a 64-bit word and zstd gets little back from uniformly
 * random words, though each holds only log2(q0) bits of information
 * (docs/decisions/packed-response.md).
 * Dropping the k low bits of every coefficient adds an error e0 + e1*s to the
 * decrypted polynomial (|e0|, |e1| <= 2^(k-1), s ternary), which after decoding
 * is noise of standard deviation about 2^k * sqrt(N (1 + 2N/3) / 12) / scale
 * per slot. The server picks the largest k that keeps that below 2^-PRECISION_BITS
 * in logit units, far under the evaluation's own noise, so the argmax and
 * the logits' useful digits are unchanged (tested). Rounding is a public function of the
 * ciphertext: the client learns nothing it could not compute from the unrounded
 * one, and the server learns nothing at all.
 *
 * Section layout (all little-endian):
 *   polynomials u8 (2) | dropped bits k u8 | bits per coefficient b u8 | reserved u8 (0) |
 *   scale f64 | 2N values of b bits, c0's N coefficients then c1's, as one bit stream
 *   (value i in stream bits [i*b, (i+1)*b), stream bit j = bit j%8 of byte j>>3; the last
 *   byte's unused bits 0).
 * Value r stands for the coefficient (r * 2^k) mod q0; b = bitLength((q0 - 1 + h) >> k)
 * with h = 2^(k-1) (0 when k = 0), so every rounded coefficient fits.
 *
 * SEAL needs the coefficients back as its own Ciphertext: `sealCiphertextBytes`
 * writes that object (uncompressed, coefficient form); the client loads it and
 * transforms it to NTT form before decrypting. Isomorphic: no DOM, no Node APIs.
 */
import { BitReader, BitWriter } from './bit-stream'
import { BlindfoldError } from './errors'
import { CiphertextField, SEAL_HEADER_SIZE, writeSealHeader } from './seal-header'

/** The added rounding noise stays below 2^-16 in logit units (standard deviation). */
export const PRECISION_BITS = 16
export const PACKED_HEADER_BYTES = 12

const {
  parmsId: PARMS_ID_AT,
  ntt: NTT_FLAG_AT,
  size: SIZE_AT,
  degree: DEGREE_AT,
  primes: PRIMES_AT,
  scale: SCALE_AT,
  correction: CORRECTION_AT,
  array: ARRAY_AT,
  data: DATA_AT,
} = CiphertextField

export const bitLength = (v: bigint): number => v.toString(2).length - (v === 0n ? 1 : 0)

/**
 * The k of the layout: the most low bits the server may drop for this scale and N.
 * log2(scale) is rounded so that the scale's drift over a network (a fraction of a
 * bit) never changes k: the noise bound holds within a factor of about 1.4.
 */
export function droppedBits(scale: number, polyModulusDegree: number, q0Bits: number): number {
  const N = polyModulusDegree
  // log2 of the noise a unit rounding step (k = 0) leaves in a slot, times the scale
  const unitNoise = 0.5 * Math.log2((N * (1 + (2 * N) / 3)) / 12)
  const k = Math.floor(Math.round(Math.log2(scale)) - PRECISION_BITS - unitNoise)
  return Math.max(0, Math.min(k, q0Bits - 1))
}

/** The packed section a model's response ciphertext is expected to take (SEAL's q0 lies just below 2^q0Bits). */
export function plannedPackedBytes(polyModulusDegree: number, q0Bits: number, scaleBits: number): number {
  return packedBytes(polyModulusDegree, q0Bits - droppedBits(2 ** scaleBits, polyModulusDegree, q0Bits))
}

/** The b of the layout for q0 and k. */
export function bitsPerCoefficient(q0: bigint, k: number): number {
  const half = k > 0 ? 1n << BigInt(k - 1) : 0n
  return bitLength((q0 - 1n + half) >> BigInt(k))
}

export function packedBytes(polyModulusDegree: number, b: number): number {
  return PACKED_HEADER_BYTES + Math.ceil((2 * polyModulusDegree * b) / 8)
}

/** The largest packed section for a ciphertext of degree N mod q0 (k = 0). */
export function maxPackedBytes(polyModulusDegree: number, q0: bigint): number {
  return packedBytes(polyModulusDegree, bitLength(q0 - 1n))
}

/**
 * Packs a ciphertext SEAL saved uncompressed (`ComprModeType.none`) in coefficient
 * form at a level of one prime, q0. Server side: the bytes are SEAL's own.
 */
export function packCiphertext(raw: Uint8Array, q0: bigint): Uint8Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  const N = Number(view.getBigUint64(DEGREE_AT, true))
  const polys = Number(view.getBigUint64(SIZE_AT, true))
  const primes = Number(view.getBigUint64(PRIMES_AT, true))
  if (view.getUint8(NTT_FLAG_AT) !== 0 || polys !== 2 || primes !== 1 || raw.byteLength !== DATA_AT + 16 * N) {
    throw new BlindfoldError('internal', 'packCiphertext takes a 2-polynomial ciphertext of one prime in coefficient form')
  }
  const scale = view.getFloat64(SCALE_AT, true)
  const k = droppedBits(scale, N, bitLength(q0))
  const b = bitsPerCoefficient(q0, k)
  const out = new Uint8Array(packedBytes(N, b))
  const head = new DataView(out.buffer)
  head.setUint8(0, 2)
  head.setUint8(1, k)
  head.setUint8(2, b)
  head.setFloat64(4, scale, true)
  const half = k > 0 ? 1n << BigInt(k - 1) : 0n
  const shift = BigInt(k)
  const bits = new BitWriter(out, PACKED_HEADER_BYTES)
  for (let i = 0; i < 2 * N; i++) {
    const r = (view.getBigUint64(DATA_AT + 8 * i, true) + half) >> shift
    bits.write(Number(r & 0xffffffffn), Number(r >> 32n), b)
  }
  bits.end()
  return out
}

export interface PackedCiphertext {
  scale: number
  droppedBits: number
  /** 2N coefficients mod q0, c0's then c1's */
  coefficients: BigUint64Array
}

/** Reads a packed section with every field checked; the bytes are the server's, as untrusted as a request. */
export function unpackCiphertext(section: Uint8Array, polyModulusDegree: number, q0: bigint): PackedCiphertext {
  const fail = (message: string) => new BlindfoldError('bad_container', `response ciphertext: ${message}`)
  if (section.byteLength < PACKED_HEADER_BYTES) throw new BlindfoldError('wrong_object_size', `response ciphertext: ${section.byteLength} bytes is shorter than its header`)
  const head = new DataView(section.buffer, section.byteOffset, PACKED_HEADER_BYTES)
  const polys = head.getUint8(0)
  const k = head.getUint8(1)
  const b = head.getUint8(2)
  const scale = head.getFloat64(4, true)
  if (polys !== 2) throw new BlindfoldError('wrong_size', `response ciphertext has ${polys} polynomials, expected 2`)
  if (head.getUint8(3) !== 0) throw fail('reserved byte is not 0')
  if (k >= bitLength(q0)) throw fail(`${k} dropped bits leave nothing of a ${bitLength(q0)}-bit modulus`)
  if (b !== bitsPerCoefficient(q0, k)) throw fail(`${b} bits per coefficient, expected ${bitsPerCoefficient(q0, k)} for ${k} dropped bits`)
  if (!Number.isFinite(scale) || scale < 1) throw new BlindfoldError('wrong_scale', `response ciphertext: scale ${scale} is not a CKKS scale`)
  const expected = packedBytes(polyModulusDegree, b)
  if (section.byteLength !== expected) {
    throw new BlindfoldError('wrong_object_size', `response ciphertext: ${section.byteLength} bytes; expected ${expected} for ${b}-bit coefficients`)
  }
  const coefficients = new BigUint64Array(2 * polyModulusDegree)
  const reader = new BitReader(section, PACKED_HEADER_BYTES)
  const shift = BigInt(k)
  for (let i = 0; i < coefficients.length; i++) {
    const c = reader.read(b) << shift
    coefficients[i] = c >= q0 ? c - q0 : c // r * 2^k < q0 + 2^k <= 2 q0, so one subtraction reduces it
  }
  if (reader.rest() !== 0) throw fail('padding bits after the last coefficient are not 0')
  return { scale, droppedBits: k, coefficients }
}

/**
 * SEAL's own uncompressed Ciphertext object (coefficient form, one prime) holding these
 * coefficients, for `Ciphertext.loadFromArray`. `parmsId`: the four words of the level's parms id.
 */
export function sealCiphertextBytes(parmsId: ArrayLike<bigint>, polyModulusDegree: number, packed: PackedCiphertext): Uint8Array {
  const N = polyModulusDegree
  const out = new Uint8Array(DATA_AT + 16 * N)
  const view = new DataView(out.buffer)
  const header = (at: number, size: number) => writeSealHeader(view, at, size)
  header(0, out.byteLength)
  for (let i = 0; i < 4; i++) view.setBigUint64(PARMS_ID_AT + 8 * i, parmsId[i], true)
  view.setUint8(NTT_FLAG_AT, 0)
  view.setBigUint64(SIZE_AT, 2n, true)
  view.setBigUint64(DEGREE_AT, BigInt(N), true)
  view.setBigUint64(PRIMES_AT, 1n, true)
  view.setFloat64(SCALE_AT, packed.scale, true)
  view.setBigUint64(CORRECTION_AT, 1n, true)
  header(ARRAY_AT, out.byteLength - ARRAY_AT)
  view.setBigUint64(ARRAY_AT + SEAL_HEADER_SIZE, BigInt(2 * N), true)
  for (let i = 0; i < 2 * N; i++) view.setBigUint64(DATA_AT + 8 * i, packed.coefficients[i], true)
  return out
}
