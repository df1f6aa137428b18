/**
 * An encrypted input, packed: the fresh seeded ciphertext a request section holds, as its
 * seed and its stored polynomial, every coefficient in the bits of its prime
 * (seeded-ciphertext.ts). Its level (the top of the chain), NTT form and scale (the model's
 * encoding scale) are public, so the server writes SEAL's object around the block itself,
 * and every section of a model has one size whatever the image and the encryption's
 * randomness (docs/decisions/packed-uploads.md).
 *
 * Section layout (docs/wire-format.md): 'BLPC' | PRNG u8 (SEAL's prng_type) | reserved
 * 3 bytes (0) | the 64-byte seed | for each data prime in SEAL's order, its N coefficients
 * as a bit stream of bitLength(q - 1) bits each. Isomorphic: no DOM, no Node APIs.
 */
import type { HeContext } from './context'
import { BlindfoldError } from './errors'
import { packedSeededBytes, PRNG_TYPES, primeBits, SeededPacker, SeededWriter, sealSeededBytes, type SeededShape } from './seeded-ciphertext'

const MAGIC = [0x42, 0x4c, 0x50, 0x43] // 'BLPC'
const HEADER_BYTES = 8

/** Bytes of a packed request section for N and the data primes' bits. */
export function packedRequestSize(polyModulusDegree: number, dataPrimeBits: readonly number[]): number {
  return HEADER_BYTES + packedSeededBytes(polyModulusDegree, dataPrimeBits)
}

export const PACKED_REQUEST_LAYOUT =
  "'BLPC' (42 4C 50 43) | PRNG u8 (SEAL prng_type: 1 BLAKE2xb, 2 SHAKE256) | reserved 3 bytes 0 | the ciphertext's 64-byte seed | " +
  "for each data prime in SEAL's order its N stored coefficients (NTT form) as a little-endian bit stream of primeBits[p] bits each"

/** Does this section start as a packed request ciphertext (as opposed to a SEAL object)? */
export function isPackedRequest(section: Uint8Array): boolean {
  return section.byteLength >= MAGIC.length && MAGIC.every((b, i) => section[i] === b)
}

/** Client side: packs a fresh seeded ciphertext SEAL saved uncompressed (`encryptSymmetricSerializable`). */
export function packRequest(raw: Uint8Array, shape: SeededShape): Uint8Array {
  const fail = (message: string) => new BlindfoldError('internal', `packing an input ciphertext: ${message}`)
  if (raw.byteLength !== sealSeededBytes(shape)) throw fail(`${raw.byteLength} bytes, expected a seeded ciphertext of ${sealSeededBytes(shape)}`)
  const out = new Uint8Array(packedRequestSize(shape.polyModulusDegree, primeBits(shape)))
  out.set(MAGIC, 0)
  const packer = new SeededPacker(shape, fail)
  packer.pack(raw, 0, new Uint32Array(out.buffer), HEADER_BYTES / 4, 'the ciphertext')
  out[4] = packer.prng
  return out
}

/**
 * Server side: SEAL's seeded ciphertext a packed section stands for, every field checked.
 * Made once per model; its sizes and the writer's buffers serve every request.
 */
export class PackedRequestReader {
  private readonly writer: SeededWriter
  private readonly packedBytes: number
  private readonly sealBytes: number

  constructor(shape: SeededShape) {
    this.writer = new SeededWriter(shape, (message) => new BlindfoldError('bad_packing', message))
    this.packedBytes = packedRequestSize(shape.polyModulusDegree, primeBits(shape))
    this.sealBytes = sealSeededBytes(shape)
  }

  read(section: Uint8Array, what: string): Uint8Array {
    checkPackedRequestHeader(section, what)
    if (section.byteLength !== this.packedBytes) throw new BlindfoldError('wrong_object_size', `${what}: ${section.byteLength} bytes; expected ${this.packedBytes}`)
    const packed = new Uint32Array((section.byteLength - HEADER_BYTES) / 4) // aligned: a section sits anywhere in its container
    new Uint8Array(packed.buffer).set(section.subarray(HEADER_BYTES))
    const out = new Uint8Array(this.sealBytes)
    this.writer.write(out, 0, packed, 0, section[4], what)
    return out
  }
}

/** The cheap check, for the server's main thread: magic, PRNG, reserved bytes and a bounded size. */
export function checkPackedRequestBounded(section: Uint8Array, maxBytes: number, what: string): void {
  checkPackedRequestHeader(section, what)
  if (section.byteLength > maxBytes) throw new BlindfoldError('wrong_object_size', `${what}: ${section.byteLength} bytes; at most ${maxBytes} expected`)
}

function checkPackedRequestHeader(section: Uint8Array, what: string): void {
  if (section.byteLength < HEADER_BYTES) throw new BlindfoldError('wrong_object_size', `${what}: ${section.byteLength} bytes is shorter than a packed ciphertext's header`)
  if (!isPackedRequest(section)) throw new BlindfoldError('bad_packing', `${what}: not a packed ciphertext (bad magic)`)
  if (!PRNG_TYPES.includes(section[4])) throw new BlindfoldError('bad_packing', `${what}: PRNG type ${section[4]}`)
  if (section[5] !== 0 || section[6] !== 0 || section[7] !== 0) throw new BlindfoldError('bad_packing', `${what}: reserved bytes are not 0`)
}

/** The shape of a model's fresh input ciphertexts: the top data level, at the encoding scale. */
export function requestShape(he: Pick<HeContext, 'keyLevel' | 'levels' | 'params'>): SeededShape {
  return {
    polyModulusDegree: he.keyLevel.polyModulusDegree,
    primes: he.keyLevel.primes.slice(0, -1), // the data primes: the key level less its special prime
    parmsId: Array.from(he.levels[0].parmsId.values() as ArrayLike<bigint>),
    scale: 2 ** he.params.scaleBits,
  }
}
