/**
 * Declared width and height of an image, read from its header bytes only.
 *
 * Why: a 60 KB PNG can declare 10,000 x 6,000 pixels; decoding it first and
 * checking afterwards means allocating 240 MB (or crashing the tab) before the
 * size limit can say no. Reading the header lets decodeImage refuse such files
 * without decoding. Formats or layouts not recognised here return undefined
 * and fall through to the browser's decoder, whose result is checked again.
 */

export interface DeclaredSize {
  format: 'png' | 'jpeg' | 'gif' | 'bmp' | 'webp'
  width: number
  height: number
}

/** enough for a PNG/GIF/BMP/WebP header and for JPEG metadata before the frame header in nearly all files */
export const HEADER_BYTES = 256 * 1024

export function declaredSize(bytes: Uint8Array): DeclaredSize | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const ascii = (at: number, text: string) =>
    bytes.length >= at + text.length && [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0))

  if (bytes.length >= 24 && ascii(1, 'PNG\r\n\x1a\n') && bytes[0] === 0x89 && ascii(12, 'IHDR'))
    return { format: 'png', width: view.getUint32(16), height: view.getUint32(20) }
  if (bytes.length >= 10 && (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')))
    return { format: 'gif', width: view.getUint16(6, true), height: view.getUint16(8, true) }
  if (bytes.length >= 26 && ascii(0, 'BM')) return bmp(view)
  if (bytes.length >= 30 && ascii(0, 'RIFF') && ascii(8, 'WEBP')) return webp(bytes, view, ascii)
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) return jpeg(bytes, view)
  return undefined
}

function bmp(view: DataView): DeclaredSize | undefined {
  const headerSize = view.getUint32(14, true)
  // BITMAPCOREHEADER (OS/2) has 16-bit sides; every later header 32-bit, height negative for top-down
  if (headerSize === 12) return { format: 'bmp', width: view.getUint16(18, true), height: view.getUint16(20, true) }
  if (headerSize < 40) return undefined
  return { format: 'bmp', width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) }
}

function webp(bytes: Uint8Array, view: DataView, ascii: (at: number, text: string) => boolean): DeclaredSize | undefined {
  if (ascii(12, 'VP8X')) {
    // canvas size minus one, 24-bit little-endian
    const u24 = (at: number) => bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16)
    return { format: 'webp', width: u24(24) + 1, height: u24(27) + 1 }
  }
  if (ascii(12, 'VP8L') && bytes[20] === 0x2f) {
    // 14 bits of width-1, then 14 bits of height-1, little-endian bit order
    const bits = view.getUint32(21, true)
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 }
  }
  if (ascii(12, 'VP8 ') && bytes[23] === 0x9d && bytes[24] === 0x01 && bytes[25] === 0x2a)
    return { format: 'webp', width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff }
  return undefined
}

/** start-of-frame markers carry the size: SOF0-3, 5-7, 9-11, 13-15 (C4 DHT, C8 JPG, CC DAC are not frames) */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf])

function jpeg(bytes: Uint8Array, view: DataView): DeclaredSize | undefined {
  let at = 2
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined
    const marker = bytes[at + 1]
    if (marker === 0xff) {
      at++ // fill byte
      continue
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2 // markers without a length
      continue
    }
    if (marker === 0xda || marker === 0xd9) return undefined // scan data or end before any frame header
    const length = view.getUint16(at + 2)
    if (length < 2) return undefined
    if (SOF.has(marker)) {
      if (at + 9 > bytes.length) return undefined
      return { format: 'jpeg', height: view.getUint16(at + 5), width: view.getUint16(at + 7) }
    }
    at += 2 + length
  }
  return undefined
}
