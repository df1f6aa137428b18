// Packed evaluation keys against SEAL itself: the server's rebuilt object is byte for byte what SEAL
// saved, SEAL loads it and rotates with it, and every malformed field is refused with its code.
import { readFileSync } from 'node:fs'
import SEAL from 'node-seal'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHeContext, type HeContext } from './context'
import { codeOf } from './test-support/error-code'
import { migrateManifest } from '../model/manifest'
import { clientSpec } from './client-spec'
import { KeyOwner } from './key-owner'
import { keySizes } from './object-sizes'
import { publicModel } from './public-model'
import { ContainerKind, unpack } from './wire'
import { isPackedKeySet, keySetLayouts, packedKeySetBytes, packKeySet, sealKeySetBytes, sealKeySetFromPacked, type KeySetLayout } from './packed-keys'


interface Saved {
  relin: Uint8Array
  galois: Uint8Array
}

function saveSeeded(he: HeContext, steps: readonly number[]): Saved {
  const { seal, context } = he
  const keygen = new seal.KeyGenerator(context)
  const none = seal.ComprModeType.none
  const relin = keygen.createRelinKeysSerializable()
  const galois = keygen.createGaloisKeysSerializableWithSteps(Int32Array.from(steps))
  try {
    return { relin: relin.saveToArray(none) as Uint8Array, galois: galois.saveToArray(none) as Uint8Array }
  } finally {
    relin.delete()
    galois.delete()
    keygen.delete()
  }
}

describe.each([
  // widths below, at and above 32 bits, a 60-bit special prime, and the shipped mnist-cnn chain
  { N: 4096, bits: [32, 20, 20, 37], steps: [1, -1, 3, 0], scaleBits: 26 },
  { N: 8192, bits: [50, 33, 33, 33, 60], steps: [1, 2, 4, 8, 100], scaleBits: 33 },
])('packed key sets, N=$N, q=$bits, steps $steps', ({ N, bits, steps, scaleBits }) => {
  let he: HeContext
  let saved: Saved
  let layouts: { relin: KeySetLayout; galois: KeySetLayout }

  beforeAll(async () => {
    he = createHeContext(await SEAL(), { scheme: 'ckks', polyModulusDegree: N, coeffModulusBits: bits, scaleBits, securityLevel: 'tc128' })
    saved = saveSeeded(he, steps)
    layouts = keySetLayouts(he.keyLevel, steps)
  })
  afterAll(() => he.dispose())

  it('rebuilds exactly the bytes SEAL saved, and is as small as the primes allow', () => {
    for (const which of ['relin', 'galois'] as const) {
      const packed = packKeySet(saved[which], layouts[which])
      expect(isPackedKeySet(packed)).toBe(true)
      expect(packed.byteLength).toBe(packedKeySetBytes(layouts[which]))
      const rebuilt = sealKeySetFromPacked(packed, layouts[which])
      expect(rebuilt.byteLength).toBe(saved[which].byteLength)
      expect(Buffer.compare(Buffer.from(rebuilt), Buffer.from(saved[which]))).toBe(0)
    }
    const sizes = keySizes(N, bits.length - 1, steps)
    expect([sealKeySetBytes(layouts.relin), sealKeySetBytes(layouts.galois)]).toEqual([sizes.relin[0], sizes.galois[0]])
    // the coefficients take sum(bits)/64 of SEAL's words
    const ratio = packedKeySetBytes(layouts.galois) / sizes.galois[0]
    expect(ratio).toBeLessThan(bits.reduce((a, b) => a + b, 0) / (64 * bits.length) + 0.01)
  })

  it('makes keys SEAL loads and rotates with', () => {
    const { seal, context } = he
    const keygen = new seal.KeyGenerator(context)
    const galois = keygen.createGaloisKeysSerializableWithSteps(Int32Array.from(steps))
    const loaded = new seal.GaloisKeys()
    const encoder = new seal.CKKSEncoder(context)
    const encryptor = new seal.Encryptor(context, keygen.createPublicKey(), keygen.secretKey())
    const decryptor = new seal.Decryptor(context, keygen.secretKey())
    const evaluator = new seal.Evaluator(context)
    const plain = new seal.Plaintext()
    const ct = new seal.Ciphertext()
    try {
      const rebuilt = sealKeySetFromPacked(packKeySet(galois.saveToArray(seal.ComprModeType.none) as Uint8Array, layouts.galois), layouts.galois)
      loaded.loadFromArray(context, rebuilt)
      const values = Float64Array.from({ length: N / 2 }, (_, i) => i % 7)
      encoder.encode(values, 2 ** scaleBits, plain)
      encryptor.encrypt(plain, ct)
      evaluator.rotateVector(ct, steps[0], loaded, ct)
      decryptor.decrypt(ct, plain)
      const out = encoder.decodeFloat64(plain) as Float64Array
      for (let i = 0; i < 16; i++) expect(out[i]).toBeCloseTo(values[(i + steps[0]) % (N / 2)], 1) // wrong keys give noise in the hundreds
    } finally {
      for (const o of [ct, plain, evaluator, decryptor, encryptor, encoder, loaded, galois, keygen]) o.delete()
    }
  })

  it('refuses a key set made for other steps before it leaves the tab', () => {
    const other = keySetLayouts(he.keyLevel, steps.slice(1))
    expect(codeOf(() => packKeySet(saved.galois, other.galois))).toBe('internal')
    expect(codeOf(() => packKeySet(saved.galois, layouts.relin))).toBe('internal')
  })

  it('refuses every malformed field with its code', () => {
    const packed = packKeySet(saved.galois, layouts.galois)
    const edit = (f: (b: Uint8Array, v: DataView) => void) => {
      const b = packed.slice()
      f(b, new DataView(b.buffer))
      return () => sealKeySetFromPacked(b, layouts.galois)
    }
    const filled = layouts.galois.filled.length
    const firstKey = 16 + 4 * filled
    expect(codeOf(edit((b) => (b[0] = 0)))).toBe('bad_packing')
    expect(codeOf(edit((b) => (b[4] = 1)))).toBe('wrong_kind')
    expect(codeOf(edit((b) => (b[4] = 9)))).toBe('bad_packing')
    expect(codeOf(edit((b) => (b[5] = 3)))).toBe('bad_packing')
    expect(codeOf(edit((b) => (b[6] = 1)))).toBe('bad_packing')
    expect(codeOf(edit((_, v) => v.setUint32(8, 1, true)))).toBe('bad_packing')
    expect(codeOf(edit((_, v) => v.setUint32(12, filled - 1, true)))).toBe('missing_rotation_step')
    expect(codeOf(edit((_, v) => v.setUint32(12, 0xffffffff, true)))).toBe('unexpected_rotation_step')
    expect(codeOf(edit((_, v) => v.setUint32(16, layouts.galois.filled[0] + 1, true)))).toBe('unexpected_rotation_step')
    // the first coefficient of the first prime set to all ones: at or above any prime of its width
    expect(codeOf(edit((b) => b.fill(0xff, firstKey + 64, firstKey + 64 + 8)))).toBe('bad_packing')
    // the last coefficient of the last key's special prime
    expect(codeOf(edit((b) => b.fill(0xff, b.byteLength - 8)))).toBe('bad_packing')
    expect(codeOf(() => sealKeySetFromPacked(packed.subarray(0, packed.byteLength - 1), layouts.galois))).toBe('wrong_object_size')
    expect(codeOf(() => sealKeySetFromPacked(new Uint8Array([...packed, 0]), layouts.galois))).toBe('wrong_object_size')
    expect(codeOf(() => sealKeySetFromPacked(packed.subarray(0, 10), layouts.galois))).toBe('wrong_object_size')
    expect(codeOf(() => sealKeySetFromPacked(packed.subarray(0, 16 + 4 * filled - 1), layouts.galois))).toBe('wrong_object_size')
    expect(codeOf(() => sealKeySetFromPacked(packed, layouts.relin))).toBe('wrong_kind')
    // an untouched copy still passes: the edits above are what failed
    expect(codeOf(edit(() => {}))).toBe('no error')
  })
})

describe('packed keys of a shipped model', () => {
  it('are what KeyOwner uploads, at exactly the sizes and table indices the client description publishes', async () => {
    const manifest = migrateManifest(JSON.parse(readFileSync(new URL('../../server/models/mnist-cnn/manifest.json', import.meta.url), 'utf8')))
    const spec = clientSpec(manifest)
    const owner = await KeyOwner.create(publicModel(manifest))
    try {
      const sections = unpack(owner.evaluationKeys, ContainerKind.evaluationKeys, 2)
      sections.forEach((section, i) => {
        const published = spec.keys.sections[i].packed
        expect(isPackedKeySet(section)).toBe(true)
        expect(section.byteLength).toBe(published.bytes)
        const head = new DataView(section.buffer, section.byteOffset)
        expect([head.getUint8(4), head.getUint32(8, true)]).toEqual([published.kind, published.tableEntries])
        expect(Array.from({ length: head.getUint32(12, true) }, (_, k) => head.getUint32(16 + 4 * k, true))).toEqual(published.tableIndices)
      })
      expect(spec.keys.primeBits).toEqual(manifest.he.coeffModulusBits)
    } finally {
      owner.dispose()
    }
  })
})

describe('packed key sets from hostile clients', () => {
  it('end every random mutation as a clean refusal or a well-formed SEAL object, never another failure', async () => {
    const he = createHeContext(await SEAL(), { scheme: 'ckks', polyModulusDegree: 4096, coeffModulusBits: [32, 20, 20, 37], scaleBits: 26, securityLevel: 'tc128' })
    try {
      const layouts = keySetLayouts(he.keyLevel, [1, 5])
      const packed = packKeySet(saveSeeded(he, [1, 5]).galois, layouts.galois)
      let x = 12345
      const random = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x % n)
      const outcomes = new Map<string, number>()
      for (let trial = 0; trial < 300; trial++) {
        let bytes = packed.slice()
        const mutation = trial % 3
        if (mutation === 0) for (let k = 0; k < 1 + random(4); k++) bytes[random(Math.min(bytes.length, 64))] = random(256) // the header and indices
        if (mutation === 1) bytes[random(bytes.length)] ^= 1 << random(8) // anywhere
        if (mutation === 2) bytes = bytes.slice(0, random(bytes.length)) // cut short
        const code = codeOf(() => sealKeySetFromPacked(bytes, layouts.galois))
        outcomes.set(code, (outcomes.get(code) ?? 0) + 1)
      }
      // a flipped bit in a seed or a low coefficient bit leaves a valid (useless) set: 'no error'
      expect([...outcomes.keys()].every((c) => ['no error', 'bad_packing', 'wrong_kind', 'wrong_object_size', 'missing_rotation_step', 'unexpected_rotation_step'].includes(c))).toBe(true)
      expect(outcomes.get('wrong_object_size')).toBeGreaterThan(50)
    } finally {
      he.dispose()
    }
  })
})
