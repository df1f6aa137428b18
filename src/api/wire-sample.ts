/**
 * What the page keeps of the bytes one classification sent and received, for "what the server
 * sees": taken once, in the HE worker, from the very buffers that crossed the wire, and bounded,
 * so that a long session of results does not hold every ciphertext. The page draws its views from
 * these samples; nothing is re-encrypted or recomputed for show.
 */

/** bytes kept from the start of a body: the container header and the start of its first section */
export const HEAD_BYTES = 64
/** the noise image is a square of this many pixels a side, one grey pixel per byte */
export const WINDOW_SIDE = 64

export interface WireSample {
  /** the whole body's size */
  byteLength: number
  /** SHA-256 of the whole body, hex; the privacy inspector lists its first 16 digits for a request */
  sha256: string
  /** the body's first HEAD_BYTES bytes (fewer if it is shorter) */
  head: Uint8Array
  /** where `window` starts in the body */
  windowOffset: number
  /** up to WINDOW_SIDE² consecutive bytes from the middle of the body, where the encrypted coefficients are */
  window: Uint8Array
}

/** The ciphertext a classification sent and the encrypted answer it received, before decryption. */
export interface WireExchange {
  sent: WireSample
  received: WireSample
}

/** Copies the bounded parts of `bytes` (the body as it was sent or received) with the body's SHA-256. */
export function sampleWire(bytes: Uint8Array, sha256: string): WireSample {
  const n = Math.min(bytes.byteLength, WINDOW_SIDE * WINDOW_SIDE)
  const windowOffset = Math.floor((bytes.byteLength - n) / 2)
  return {
    byteLength: bytes.byteLength,
    sha256,
    head: bytes.slice(0, HEAD_BYTES),
    windowOffset,
    window: bytes.slice(windowOffset, windowOffset + n),
  }
}

const hex2 = (b: number) => b.toString(16).padStart(2, '0')

/** A hex dump, one line per `perRow` bytes: the offset (hex, at least 4 digits), then the bytes. */
export function hexRows(bytes: Uint8Array, offset = 0, perRow = 8): string[] {
  const rows: string[] = []
  for (let at = 0; at < bytes.length; at += perRow) {
    const hex = Array.from(bytes.subarray(at, at + perRow), hex2).join(' ')
    rows.push(`${(offset + at).toString(16).padStart(4, '0')}  ${hex}`)
  }
  return rows
}

/**
 * RGBA pixels of a grey image `width` wide with one pixel per byte (the byte is its grey level),
 * row by row; pixels past the last byte are transparent.
 */
export function greyPixels(bytes: Uint8Array, width: number): { width: number; height: number; rgba: Uint8ClampedArray<ArrayBuffer> } {
  const height = Math.max(1, Math.ceil(bytes.length / width))
  const rgba = new Uint8ClampedArray(width * height * 4)
  bytes.forEach((b, i) => {
    rgba.set([b, b, b, 255], i * 4)
  })
  return { width, height, rgba }
}
