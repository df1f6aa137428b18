/**
 * zstd inflation with a hard output bound, in JS, so that SEAL never inflates
 * untrusted bytes itself. SEAL 4.1.2 checks a section's compressed size but
 * not what it inflates to: a small frame declaring gigabytes made SEAL grow
 * its WASM heap (which never shrinks) to its 4 GB limit. Here the frame is walked
 * structurally first (one frame, no dictionary, declared content size equal to
 * what the plan expects, a window no larger than that), then decoded block by
 * block (fzstd's streaming decoder, at most 128 KB per block), stopping as
 * soon as the output would pass the expected size.
 * Isomorphic: no DOM, no Node APIs.
 *
 * Frame layout (RFC 8878): magic 28 B5 2F FD | descriptor | [window] | [dict id]
 * | [content size] | blocks (3-byte header: last, type, size) | [checksum].
 */
import { Decompress } from 'fzstd'
import { BlindfoldError } from './errors'

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd]
const MAX_BLOCK = 128 * 1024

export interface FrameInfo {
  /** the declared decompressed size */
  contentSize: number
  windowSize: number
  /** bytes of the frame, checksum included (always the whole input: trailing bytes are refused) */
  frameBytes: number
}

const bad = (what: string, message: string) => new BlindfoldError('bad_compression', `${what}: ${message}`)

/**
 * Reads a zstd frame's header and walks its block headers without decoding.
 * Refuses anything a SEAL zstd writer does not produce: dictionaries, a
 * missing content size, reserved bits, reserved block types, more than one
 * frame, trailing bytes. `maxContentSize` bounds the declared size.
 */
export function inspectZstdFrame(data: Uint8Array, maxContentSize: number, what: string): FrameInfo {
  if (data.byteLength < 6 || MAGIC.some((b, i) => data[i] !== b)) throw bad(what, 'not a zstd frame')
  const descriptor = data[4]
  const fcsFlag = descriptor >> 6
  const singleSegment = (descriptor >> 5) & 1
  const checksum = (descriptor >> 2) & 1
  if (descriptor & 0x08) throw bad(what, 'reserved bit set in the zstd frame header')
  if (descriptor & 0x03) throw bad(what, 'zstd dictionaries are not accepted')
  let at = 5
  let windowSize = 0
  if (!singleSegment) {
    const w = data[at++]
    const base = 2 ** (10 + (w >> 3))
    windowSize = base + (base / 8) * (w & 7)
  }
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag
  if (fcsBytes === 0) throw bad(what, 'the zstd frame does not declare its content size')
  if (at + fcsBytes > data.byteLength) throw bad(what, 'truncated zstd frame header')
  let contentSize = 0
  for (let i = fcsBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + data[at + i]
  if (fcsBytes === 2) contentSize += 256
  at += fcsBytes
  if (singleSegment) windowSize = contentSize
  if (contentSize > maxContentSize) {
    throw new BlindfoldError('wrong_object_size', `${what}: declares ${contentSize} bytes once inflated; at most ${maxContentSize} are expected`)
  }
  // a window larger than the content buys nothing, and the decoder allocates it
  if (windowSize > Math.max(1024, nextPowerOfTwo(contentSize))) throw bad(what, `zstd window of ${windowSize} bytes for ${contentSize} bytes of content`)
  const blockLimit = Math.min(MAX_BLOCK, Math.max(windowSize, 1))
  for (;;) {
    if (at + 3 > data.byteLength) throw bad(what, 'truncated zstd block header')
    const header = data[at] | (data[at + 1] << 8) | (data[at + 2] << 16)
    at += 3
    const last = header & 1
    const type = (header >> 1) & 3
    const size = header >>> 3
    if (type === 3) throw bad(what, 'reserved zstd block type')
    if (size > blockLimit) throw bad(what, `zstd block of ${size} bytes exceeds the ${blockLimit}-byte limit`)
    at += type === 1 ? 1 : size // RLE blocks carry one byte
    if (at > data.byteLength) throw bad(what, 'truncated zstd block')
    if (last) break
  }
  at += checksum ? 4 : 0
  if (at !== data.byteLength) {
    throw bad(what, at > data.byteLength ? 'truncated zstd checksum' : `${data.byteLength - at} bytes after the zstd frame`)
  }
  return { contentSize, windowSize, frameBytes: at }
}

/**
 * Inflates one zstd frame whose content must be exactly one of `sizes` bytes.
 * Memory used: the output (at most max(sizes)) plus the decoder's window,
 * which inspectZstdFrame bounded by the same size.
 */
export function inflateExact(data: Uint8Array, sizes: readonly number[], what: string): Uint8Array {
  const bound = Math.max(...sizes)
  const { contentSize } = inspectZstdFrame(data, bound, what)
  if (!sizes.includes(contentSize)) {
    throw new BlindfoldError('wrong_object_size', `${what}: declares ${contentSize} bytes once inflated; expected ${sizes.join(' or ')}`)
  }
  const out = new Uint8Array(contentSize)
  let length = 0
  const decoder = new Decompress((chunk) => {
    if (length + chunk.byteLength > contentSize) {
      throw new BlindfoldError('wrong_object_size', `${what}: inflates past its declared ${contentSize} bytes`)
    }
    out.set(chunk, length)
    length += chunk.byteLength
  })
  try {
    decoder.push(data, true)
  } catch (e) {
    if (e instanceof BlindfoldError) throw e
    throw bad(what, `corrupt zstd data (${(e as Error)?.message ?? String(e)})`)
  }
  if (length !== contentSize) throw new BlindfoldError('wrong_object_size', `${what}: inflates to ${length} bytes, declared ${contentSize}`)
  return out
}

function nextPowerOfTwo(n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}
