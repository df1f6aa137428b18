/**
 * Hand-built zstd frames for the inflater's tests: RLE blocks make an
 * arbitrarily large output from 4 bytes each, which is what a decompression
 * bomb is made of.
 */
export interface FrameOptions {
  /** declared content size; undefined = not declared */
  contentSize?: number
  /** window log (10..): omitted for a single-segment frame */
  windowLog?: number
  /** RLE blocks of `blockSize` bytes each */
  blocks: number
  blockSize?: number
  dictionary?: boolean
  checksum?: boolean
}

export function rleFrame(o: FrameOptions): Uint8Array {
  const blockSize = o.blockSize ?? 128 * 1024
  const out: number[] = [0x28, 0xb5, 0x2f, 0xfd]
  const single = o.windowLog === undefined
  const fcsFlag = o.contentSize === undefined ? 0 : 3
  out.push((fcsFlag << 6) | ((single ? 1 : 0) << 5) | ((o.checksum ? 1 : 0) << 2) | (o.dictionary ? 1 : 0))
  if (!single) out.push((o.windowLog! - 10) << 3)
  if (o.dictionary) out.push(7)
  if (o.contentSize !== undefined) {
    let v = BigInt(o.contentSize)
    for (let i = 0; i < 8; i++, v >>= 8n) out.push(Number(v & 0xffn))
  } else if (single) {
    out.push(0) // a single-segment frame always carries a 1-byte size; the test then lies about nothing else
  }
  for (let b = 0; b < o.blocks; b++) {
    const header = (b === o.blocks - 1 ? 1 : 0) | (1 << 1) | (blockSize << 3)
    out.push(header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0x41)
  }
  if (o.checksum) out.push(0, 0, 0, 0)
  return Uint8Array.from(out)
}

/** A SEAL section: 16-byte header (zstd mode, size = whole section) around `frame`. */
export function sealZstdSection(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + frame.byteLength)
  const view = new DataView(out.buffer)
  view.setUint16(0, 0xa15e, true)
  out[2] = 16
  out[3] = 4
  out[4] = 1
  out[5] = 2
  view.setBigUint64(8, BigInt(out.byteLength), true)
  out.set(frame, 16)
  return out
}
