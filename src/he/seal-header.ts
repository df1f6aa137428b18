/**
 * SEAL 4.x serialization header, parsed before SEAL sees a byte. SEAL 4.1.2
 * (inside node-seal 7) predates the deserialization hardening of 4.4, so the
 * server refuses any section whose 16-byte header is not exactly what a
 * well-behaved client writes: right magic, header size and major version, a
 * compression mode we accept, zero reserved bits, and a declared size equal
 * to the section's real length (so SEAL never reads past or short of it).
 * Isomorphic: no DOM, no Node APIs.
 *
 *   magic u16 LE 0xA15E | header_size u8 (16) | version_major u8 (4) |
 *   version_minor u8 | compr_mode u8 | reserved u16 (0) | size u64 LE
 */
import { inflateExact, inspectZstdFrame } from './bounded-inflate'
import { BlindfoldError } from './errors'

export const SEAL_MAGIC = 0xa15e
export const SEAL_HEADER_SIZE = 16
export const SEAL_VERSION_MAJOR = 4

export const ComprMode = { none: 0, zlib: 1, zstd: 2 } as const
export type ComprMode = (typeof ComprMode)[keyof typeof ComprMode]

export interface SealHeader {
  versionMajor: number
  versionMinor: number
  comprMode: number
  /** total bytes of the object, header included */
  size: number
}

/**
 * Where the fields of SEAL's saved Ciphertext lie, uncompressed (object-sizes.ts): 16-byte header,
 * parms id (4 x u64), NTT flag u8, size u64, N u64, primes u64, scale f64, correction factor u64,
 * then the coefficient array as its own SEAL object (16-byte header, u64 count, the u64 values).
 */
export const CiphertextField = {
  parmsId: 16,
  ntt: 48,
  size: 49,
  degree: 57,
  primes: 65,
  scale: 73,
  correction: 81,
  array: 89,
  data: 113,
} as const

/** A u64 field of a SEAL object as a number: exact below 2^53, which every size and count is. */
export function readU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32
}

/** Writes a u64 field of a SEAL object from a number below 2^53. */
export function writeU64(view: DataView, at: number, v: number): void {
  view.setUint32(at, v % 2 ** 32, true)
  view.setUint32(at + 4, Math.floor(v / 2 ** 32), true)
}

// the minor version SEAL 4.1 (inside node-seal 7) writes itself (other minors not tried)
const SEAL_VERSION_MINOR = 1

/** Writes the header of an uncompressed SEAL object of `size` bytes (header included) at `at`. */
export function writeSealHeader(view: DataView, at: number, size: number): void {
  view.setUint16(at, SEAL_MAGIC, true)
  view.setUint8(at + 2, SEAL_HEADER_SIZE)
  view.setUint8(at + 3, SEAL_VERSION_MAJOR)
  view.setUint8(at + 4, SEAL_VERSION_MINOR)
  view.setUint8(at + 5, ComprMode.none)
  view.setUint16(at + 6, 0, true)
  view.setBigUint64(at + 8, BigInt(size), true)
}

/** Reads the header fields; throws only when fewer than 16 bytes exist. */
export function parseSealHeader(bytes: Uint8Array): SealHeader & { magic: number; headerSize: number; reserved: number } {
  if (bytes.byteLength < SEAL_HEADER_SIZE) {
    throw new BlindfoldError('bad_seal_header', `section of ${bytes.byteLength} bytes is shorter than a SEAL header`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEAL_HEADER_SIZE)
  return {
    magic: view.getUint16(0, true),
    headerSize: view.getUint8(2),
    versionMajor: view.getUint8(3),
    versionMinor: view.getUint8(4),
    comprMode: view.getUint8(5),
    reserved: view.getUint16(6, true),
    // a size beyond 2^53 cannot equal any real length, so Number() loses nothing that matters
    size: Number(view.getBigUint64(8, true)),
  }
}

/** Checks one section; `allowed` lists the compression modes we accept (zstd and none by default). */
export function checkSealSection(
  bytes: Uint8Array,
  what: string,
  allowed: readonly number[] = [ComprMode.zstd, ComprMode.none],
): SealHeader {
  const h = parseSealHeader(bytes)
  const fail = (message: string) => new BlindfoldError('bad_seal_header', `${what}: ${message}`)
  if (h.magic !== SEAL_MAGIC) throw fail(`bad SEAL magic 0x${h.magic.toString(16)}`)
  if (h.headerSize !== SEAL_HEADER_SIZE) throw fail(`SEAL header size ${h.headerSize}, expected ${SEAL_HEADER_SIZE}`)
  if (h.versionMajor !== SEAL_VERSION_MAJOR) throw fail(`SEAL version ${h.versionMajor}.${h.versionMinor}, expected ${SEAL_VERSION_MAJOR}.x`)
  if (h.reserved !== 0) throw fail('reserved SEAL header bits are set')
  if (!allowed.includes(h.comprMode)) {
    throw new BlindfoldError('unsupported_compression', `${what}: SEAL compression mode ${h.comprMode} is not accepted (allowed: ${allowed.join(', ')})`)
  }
  if (h.size !== bytes.byteLength) throw fail(`SEAL header declares ${h.size} bytes but the section holds ${bytes.byteLength}`)
  return { versionMajor: h.versionMajor, versionMinor: h.versionMinor, comprMode: h.comprMode, size: h.size }
}

/**
 * A section as SEAL should load it: uncompressed, exactly one of `sizes` bytes
 * (whole objects, header included; see object-sizes.ts). zstd sections are
 * inflated here with that bound and re-headed as uncompressed, so SEAL's own
 * inflater never runs on untrusted bytes.
 */
export function uncompressedSealObject(bytes: Uint8Array, sizes: readonly number[], what: string): Uint8Array {
  const h = checkSealSection(bytes, what)
  if (h.comprMode === ComprMode.none) {
    if (!sizes.includes(bytes.byteLength)) {
      throw new BlindfoldError('wrong_object_size', `${what}: ${bytes.byteLength} bytes; expected ${sizes.join(' or ')}`)
    }
    return bytes
  }
  const body = inflateExact(
    bytes.subarray(SEAL_HEADER_SIZE),
    sizes.map((s) => s - SEAL_HEADER_SIZE),
    what,
  )
  const out = new Uint8Array(SEAL_HEADER_SIZE + body.byteLength)
  out.set(bytes.subarray(0, SEAL_HEADER_SIZE))
  out.set(body, SEAL_HEADER_SIZE)
  const view = new DataView(out.buffer)
  view.setUint8(5, ComprMode.none)
  view.setBigUint64(8, BigInt(out.byteLength), true)
  return out
}

/** The cheap half of uncompressedSealObject, for the server's main thread: header and frame structure, declared size bounded. */
export function checkSealSectionBounded(bytes: Uint8Array, maxSize: number, what: string): void {
  const h = checkSealSection(bytes, what)
  if (h.comprMode === ComprMode.none) {
    if (bytes.byteLength > maxSize) throw new BlindfoldError('wrong_object_size', `${what}: ${bytes.byteLength} bytes; at most ${maxSize} expected`)
    return
  }
  inspectZstdFrame(bytes.subarray(SEAL_HEADER_SIZE), maxSize - SEAL_HEADER_SIZE, what)
}
