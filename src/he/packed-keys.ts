/**
 * Seeded evaluation keys, packed: each key ciphertext as its seed and its one
 * stored polynomial, every coefficient in exactly the bits of its prime.
 *
 * Why: SEAL saves every coefficient of a key in a 64-bit word though the primes
 * have 20-60 bits. zstd gets part of that back, slowly, in the tab, and the server
 * must then inflate it; a bit stream at each prime's width is smaller than zstd's
 * output and costs one pass over the words on either side
 * (docs/decisions/packed-uploads.md).
 *
 * Everything else SEAL writes around the coefficients (headers, parms ids, the
 * table, scales) is a public function of the model's parameters and rotation
 * steps, so the server writes it itself: the only bytes it takes from a client are
 * seeds and coefficients, and every coefficient is checked against its prime.
 *
 * Section layout (all little-endian; docs/wire-format.md):
 *   'BLPK' | key set u8 (1 relinearisation, 2 Galois) | PRNG u8 (SEAL's prng_type:
 *   1 BLAKE2xb, 2 SHAKE256) | reserved u16 (0) | table entries u32 (1, or N for Galois
 *   keys) | filled entries F u32 | F table indices u32, ascending |
 *   F x dataPrimes key ciphertexts, each: its 64-byte seed, then for each prime of the
 *   key level in SEAL's order (the special prime last) its N coefficients as a bit stream
 *   (bit-stream.ts) of bitLength(q - 1) bits each. N * bits is a whole number of bytes
 *   (N >= 4096), so every stream starts on a byte.
 *
 * The SEAL object it stands for is the seeded key set SEAL saves uncompressed:
 * object-sizes.ts gives its size, `sealKeySetBytes` writes it. Isomorphic: no DOM,
 * no Node APIs.
 */
import { BlindfoldError } from './errors'
import { readU64, writeSealHeader, writeU64 } from './seal-header'
import { galoisElement } from './rotation-search'
import { packedSeededBytes, PRNG_TYPES, primeBits, SeededPacker, SeededWriter, sealSeededBytes, type SeededShape } from './seeded-ciphertext'

const MAGIC = [0x42, 0x4c, 0x50, 0x4b] // 'BLPK'
const HEADER_BYTES = 16

export const KeySetKind = { relin: 1, galois: 2 } as const
export type KeySetKind = (typeof KeySetKind)[keyof typeof KeySetKind]

/** What SEAL's seeded key set for a model looks like; public, known to both sides. */
export interface KeySetLayout {
  kind: KeySetKind
  polyModulusDegree: number
  /** the key level's primes, exactly, in SEAL's order (the special prime last) */
  primes: readonly bigint[]
  /** the key level's parms id, four words */
  parmsId: readonly bigint[]
  /** the table's length: 1 for relinearisation keys, N for Galois keys */
  entries: number
  /** the filled table indices, ascending: 0 for relinearisation keys, (element >> 1) for Galois keys */
  filled: readonly number[]
}

/** Which entries of SEAL's two key tables a plan fills: public, from N and the rotation steps alone. */
export function keyTables(polyModulusDegree: number, rotationSteps: readonly number[]): Record<'relin' | 'galois', { kind: KeySetKind; entries: number; filled: number[] }> {
  const N = polyModulusDegree
  // SEAL keeps a Galois key at index element >> 1 of its table; steps naming one element share it
  const filled = [...new Set(rotationSteps.map((s) => galoisElement(s, N) >> 1))].sort((a, b) => a - b)
  return {
    relin: { kind: KeySetKind.relin, entries: 1, filled: [0] },
    galois: { kind: KeySetKind.galois, entries: N, filled },
  }
}

/** The two layouts of a model's evaluation keys, from its key level and rotation steps. */
export function keySetLayouts(
  keyLevel: { polyModulusDegree: number; primes: readonly bigint[]; parmsId: readonly bigint[] },
  rotationSteps: readonly number[],
): { relin: KeySetLayout; galois: KeySetLayout } {
  const base = { polyModulusDegree: keyLevel.polyModulusDegree, primes: [...keyLevel.primes], parmsId: [...keyLevel.parmsId] }
  const tables = keyTables(keyLevel.polyModulusDegree, rotationSteps)
  return { relin: { ...base, ...tables.relin }, galois: { ...base, ...tables.galois } }
}

const keysPerEntry = (layout: KeySetLayout) => layout.primes.length - 1
/** every key of a set: a seeded ciphertext of the key level at scale 1 */
const keyShape = (layout: KeySetLayout): SeededShape => ({ polyModulusDegree: layout.polyModulusDegree, primes: layout.primes, parmsId: layout.parmsId, scale: 1 })

/**
 * Bytes of a packed section: `primeBits` are the key level's bits per coefficient,
 * bitLength(q - 1) for each prime; for the primes of CoeffModulus.Create(N, bits) that is
 * `bits` itself (each prime lies between 2^(bits-1) and 2^bits).
 */
export function packedKeySetSize(polyModulusDegree: number, bits: readonly number[], filled: number): number {
  return HEADER_BYTES + 4 * filled + filled * (bits.length - 1) * packedSeededBytes(polyModulusDegree, bits)
}

/** Bytes of the packed section for a layout. */
export function packedKeySetBytes(layout: KeySetLayout): number {
  return packedKeySetSize(layout.polyModulusDegree, primeBits(layout), layout.filled.length)
}

/** The section layout in one line, for clients (the client description publishes it). */
export const PACKED_KEYS_LAYOUT =
  "'BLPK' (42 4C 50 4B) | key set u8 (1 relinearisation, 2 Galois) | PRNG u8 (SEAL prng_type of every seed: 1 BLAKE2xb, 2 SHAKE256) | reserved u16 0 | " +
  'table entries u32 | filled entries F u32 | F table indices u32 ascending | F x (primes - 1) key ciphertexts in table order, each: its 64-byte seed, ' +
  "then for each key-level prime in SEAL's order (special prime last) its N stored coefficients as a little-endian bit stream of primeBits[p] bits each; all little-endian"

// the key set: header 16, parms id 32, table length 8, then per entry its length 8 and its keys
const SET_PARMS_ID = 16
const SET_TABLE = 48

/** Bytes of SEAL's uncompressed seeded key set for a layout (= keySizes' seeded figure). */
export function sealKeySetBytes(layout: KeySetLayout): number {
  return SET_TABLE + 8 + 8 * layout.entries + layout.filled.length * keysPerEntry(layout) * sealSeededBytes(keyShape(layout))
}

/** Does this section start as a packed key set (as opposed to a SEAL object)? */
export function isPackedKeySet(section: Uint8Array): boolean {
  return section.byteLength >= MAGIC.length && MAGIC.every((b, i) => section[i] === b)
}

/**
 * Client side: packs the key set SEAL saved uncompressed (`saveToArray(ComprModeType.none)`
 * of a `create*Serializable()` set). The bytes are this tab's own SEAL's; they are still
 * walked with every field checked against the layout, so a key set for other steps or
 * another level fails here rather than on the server.
 */
export function packKeySet(raw: Uint8Array, layout: KeySetLayout): Uint8Array {
  const fail = (message: string) => new BlindfoldError('internal', `packing ${kindName(layout.kind)}: ${message}`)
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  const u64 = (at: number) => readU64(view, at)
  if (raw.byteLength !== sealKeySetBytes(layout) || u64(8) !== raw.byteLength) throw fail(`${raw.byteLength} bytes, expected a seeded set of ${sealKeySetBytes(layout)}`)
  const sameParms = layout.parmsId.every((w, i) => view.getBigUint64(SET_PARMS_ID + 8 * i, true) === w)
  if (!sameParms || u64(SET_TABLE) !== layout.entries) throw fail('not a key set of this key level and table')

  const out = new Uint8Array(packedKeySetBytes(layout))
  const head = new DataView(out.buffer)
  out.set(MAGIC, 0)
  head.setUint8(4, layout.kind)
  head.setUint32(8, layout.entries, true)
  head.setUint32(12, layout.filled.length, true)
  layout.filled.forEach((index, i) => head.setUint32(HEADER_BYTES + 4 * i, index, true))
  const words = new Uint32Array(out.buffer)
  const packer = new SeededPacker(keyShape(layout), fail)
  const filled = new Set(layout.filled)
  let into = (HEADER_BYTES + 4 * layout.filled.length) / 4
  let at = SET_TABLE + 8
  for (let entry = 0; entry < layout.entries; entry++) {
    const keys = u64(at)
    at += 8
    if (keys !== (filled.has(entry) ? keysPerEntry(layout) : 0)) throw fail(`table entry ${entry} holds ${keys} keys`)
    for (let k = 0; k < keys; k++) ({ at, into } = packer.pack(raw, at, words, into, `key ${k} of entry ${entry}`))
  }
  head.setUint8(5, packer.prng)
  return out
}

/**
 * Server side: the SEAL object (uncompressed seeded key set) a packed section stands for,
 * written from the layout and the section's seeds and coefficients alone. Every field is
 * checked; a coefficient at or above its prime is refused.
 */
export function sealKeySetFromPacked(section: Uint8Array, layout: KeySetLayout): Uint8Array {
  const what = kindName(layout.kind)
  const badPacking = (message: string) => new BlindfoldError('bad_packing', `${what}: ${message}`)
  checkPackedKeySetHeader(section, what)
  const head = new DataView(section.buffer, section.byteOffset, section.byteLength)
  const kind = head.getUint8(4)
  if (kind !== layout.kind) throw new BlindfoldError('wrong_kind', `${what}: the section holds ${kindName(kind)}`)
  const prng = head.getUint8(5)
  if (!PRNG_TYPES.includes(prng)) throw badPacking(`PRNG type ${prng}; SEAL's are ${PRNG_TYPES.join(' and ')}`)
  const entries = head.getUint32(8, true)
  const count = head.getUint32(12, true)
  if (entries !== layout.entries) throw badPacking(`a table of ${entries} entries, expected ${layout.entries}`)
  if (count !== layout.filled.length) {
    throw new BlindfoldError(count < layout.filled.length ? 'missing_rotation_step' : 'unexpected_rotation_step', `${what}: ${count} keys, the model needs exactly ${layout.filled.length}`)
  }
  if (HEADER_BYTES + 4 * count > section.byteLength) throw new BlindfoldError('wrong_object_size', `${what}: ${section.byteLength} bytes end inside the table indices`)
  for (let i = 0; i < count; i++) {
    const index = head.getUint32(HEADER_BYTES + 4 * i, true)
    if (index !== layout.filled[i]) {
      const needed = layout.filled.includes(index)
      throw new BlindfoldError(needed ? 'missing_rotation_step' : 'unexpected_rotation_step', `${what}: table index ${index} in place ${i}; the model needs ${layout.filled.join(', ')}`)
    }
  }
  const expected = packedKeySetBytes(layout)
  if (section.byteLength !== expected) throw new BlindfoldError('wrong_object_size', `${what}: ${section.byteLength} bytes; expected ${expected}`)

  const out = new Uint8Array(sealKeySetBytes(layout))
  const view = new DataView(out.buffer)
  const setU64 = (at: number, v: number) => writeU64(view, at, v)
  writeSealHeader(view, 0, out.byteLength)
  layout.parmsId.forEach((w, i) => view.setBigUint64(SET_PARMS_ID + 8 * i, w, true))
  setU64(SET_TABLE, layout.entries)
  // the section's words, aligned (a section sits anywhere in its container)
  const packed = new Uint32Array((section.byteLength - HEADER_BYTES - 4 * count) / 4)
  new Uint8Array(packed.buffer).set(section.subarray(HEADER_BYTES + 4 * count))
  const writer = new SeededWriter(keyShape(layout), badPacking)
  const filled = new Set(layout.filled)
  let from = 0
  let at = SET_TABLE + 8
  for (let entry = 0; entry < layout.entries; entry++) {
    const keys = filled.has(entry) ? keysPerEntry(layout) : 0
    setU64(at, keys)
    at += 8
    for (let k = 0; k < keys; k++) ({ at, from } = writer.write(out, at, packed, from, prng, `key ${k} of table entry ${entry}`))
  }
  return out
}

/** The cheap check, for the server's main thread: magic, reserved bits and a bounded size. */
export function checkPackedKeySetBounded(section: Uint8Array, maxBytes: number, what: string): void {
  checkPackedKeySetHeader(section, what)
  if (section.byteLength > maxBytes) throw new BlindfoldError('wrong_object_size', `${what}: ${section.byteLength} bytes; at most ${maxBytes} expected`)
}

function checkPackedKeySetHeader(section: Uint8Array, what: string): void {
  if (section.byteLength < HEADER_BYTES) throw new BlindfoldError('wrong_object_size', `${what}: ${section.byteLength} bytes is shorter than a packed key set's header`)
  if (!isPackedKeySet(section)) throw new BlindfoldError('bad_packing', `${what}: not a packed key set (bad magic)`)
  const head = new DataView(section.buffer, section.byteOffset, HEADER_BYTES)
  if (head.getUint16(6, true) !== 0) throw new BlindfoldError('bad_packing', `${what}: reserved bytes are not 0`)
  const kind = head.getUint8(4)
  if (kind !== KeySetKind.relin && kind !== KeySetKind.galois) throw new BlindfoldError('bad_packing', `${what}: key set kind ${kind}`)
}

function kindName(kind: number): string {
  return kind === KeySetKind.relin ? 'relinearisation keys' : kind === KeySetKind.galois ? 'Galois keys' : `key set ${kind}`
}
