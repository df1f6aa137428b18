/**
 * The binary containers that cross the network. Every body starts with
 *   'BLFD' | format version (u8) | kind (u8) | section count (u16 LE)
 * followed by sections, each a u32 LE length and that many bytes: packed key
 * sets and input ciphertexts (packed-keys.ts, packed-request.ts) or SEAL objects
 * in evaluation keys and requests, packed ciphertexts (packed-ciphertext.ts) in responses. Both sides check magic, version, kind
 * and sizes before SEAL sees a byte.
 *
 * Versions: 1, every section a SEAL object; 2, response sections packed
 * (smaller; docs/decisions/packed-response.md). Keys and requests are the same in both,
 * but a version-1 client could not read a version-2 response, so the server
 * answers its first upload with 'unsupported_version' instead.
 */
import { BlindfoldError } from './errors'

export const WIRE_FORMAT_VERSION = 2
const MAGIC = [0x42, 0x4c, 0x46, 0x44] // 'BLFD'
const HEADER = 8

export const ContainerKind = {
  evaluationKeys: 1,
  request: 2,
  response: 3,
} as const
export type ContainerKind = (typeof ContainerKind)[keyof typeof ContainerKind]

/** Bytes of a container holding sections of these sizes. */
export function containerBytes(sectionBytes: readonly number[]): number {
  return HEADER + sectionBytes.reduce((n, b) => n + 4 + b, 0)
}

export function pack(kind: ContainerKind, sections: Uint8Array[]): Uint8Array {
  const total = HEADER + sections.reduce((n, s) => n + 4 + s.byteLength, 0)
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  out.set(MAGIC, 0)
  view.setUint8(4, WIRE_FORMAT_VERSION)
  view.setUint8(5, kind)
  view.setUint16(6, sections.length, true)
  let at = HEADER
  for (const s of sections) {
    view.setUint32(at, s.byteLength, true)
    out.set(s, at + 4)
    at += 4 + s.byteLength
  }
  return out
}

export function unpack(bytes: Uint8Array, kind: ContainerKind, sections: number): Uint8Array[] {
  if (bytes.byteLength < HEADER) throw new BlindfoldError('bad_container', `body of ${bytes.byteLength} bytes is too short for a Blindfold container`)
  if (MAGIC.some((b, i) => bytes[i] !== b)) throw new BlindfoldError('bad_container', 'body is not a Blindfold container (bad magic)')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = view.getUint8(4)
  if (version !== WIRE_FORMAT_VERSION) {
    throw new BlindfoldError('unsupported_version', `container format ${version} is not supported (expected ${WIRE_FORMAT_VERSION})`)
  }
  const actualKind = view.getUint8(5)
  if (actualKind !== kind) throw new BlindfoldError('wrong_kind', `container holds kind ${actualKind}, expected ${kind}`)
  const count = view.getUint16(6, true)
  if (count !== sections) throw new BlindfoldError('wrong_ciphertext_count', `container has ${count} sections, expected ${sections}`)
  const out: Uint8Array[] = []
  let at = HEADER
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.byteLength) throw new BlindfoldError('bad_container', `container truncated in section ${i}`)
    const length = view.getUint32(at, true)
    if (at + 4 + length > bytes.byteLength) throw new BlindfoldError('bad_container', `container truncated in section ${i}`)
    out.push(bytes.subarray(at + 4, at + 4 + length))
    at += 4 + length
  }
  if (at !== bytes.byteLength) throw new BlindfoldError('bad_container', `${bytes.byteLength - at} trailing bytes after the last section`)
  return out
}
