// Packed input ciphertexts against SEAL itself: the server's rebuilt object is byte for byte what
// SEAL saved and decrypts to the image, every section of a model has one size, and malformed
// fields are refused with their codes.
import { readFileSync } from 'node:fs'
import SEAL from 'node-seal'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrateManifest } from '../model/manifest'
import { clientSpec } from './client-spec'
import { createHeContext, type HeContext } from './context'
import { KeyOwner } from './key-owner'
import { isPackedRequest, PackedRequestReader, packRequest, requestShape } from './packed-request'
import { publicModel } from './public-model'
import { ciphertextSizes } from './object-sizes'
import { codeOf } from './test-support/error-code'
import { ContainerKind, unpack } from './wire'

describe.each([
  { N: 4096, bits: [32, 20, 20, 37], scaleBits: 20 },
  { N: 8192, bits: [50, 33, 33, 33, 60], scaleBits: 33 },
])('packed input ciphertexts, N=$N, q=$bits', ({ N, bits, scaleBits }) => {
  let he: HeContext
  let keygen: InstanceType<HeContext['seal']['KeyGenerator']>
  const values = Float64Array.from({ length: 64 }, (_, i) => (i % 9) / 4 - 1)

  beforeAll(async () => {
    he = createHeContext(await SEAL(), { scheme: 'ckks', polyModulusDegree: N, coeffModulusBits: bits, scaleBits, securityLevel: 'tc128' })
    keygen = new he.seal.KeyGenerator(he.context)
  })
  afterAll(() => {
    keygen.delete()
    he.dispose()
  })

  /** A fresh seeded symmetric encryption of `values`, saved uncompressed. */
  const saved = (): Uint8Array => {
    const { seal, context } = he
    const encoder = new seal.CKKSEncoder(context)
    const encryptor = new seal.Encryptor(context, keygen.createPublicKey(), keygen.secretKey())
    const plain = new seal.Plaintext()
    try {
      encoder.encode(values, 2 ** scaleBits, plain)
      const ct = encryptor.encryptSymmetricSerializable(plain)
      try {
        return ct.saveToArray(seal.ComprModeType.none) as Uint8Array
      } finally {
        ct.delete()
      }
    } finally {
      for (const o of [plain, encryptor, encoder]) o.delete()
    }
  }

  it('rebuilds exactly what SEAL saved, which decrypts to the values', () => {
    const raw = saved()
    const shape = requestShape(he)
    const packed = packRequest(raw, shape)
    expect(isPackedRequest(packed)).toBe(true)
    expect(packed.byteLength).toBe(8 + 64 + (N * bits.slice(0, -1).reduce((a, b) => a + b, 0)) / 8)
    expect(raw.byteLength).toBe(ciphertextSizes(N, bits.length - 1).seeded)
    const rebuilt = new PackedRequestReader(shape).read(packed, 'ciphertext 0')
    expect(Buffer.compare(Buffer.from(rebuilt), Buffer.from(raw))).toBe(0)

    const { seal, context } = he
    const ct = new seal.Ciphertext()
    const plain = new seal.Plaintext()
    const decryptor = new seal.Decryptor(context, keygen.secretKey())
    const encoder = new seal.CKKSEncoder(context)
    try {
      ct.loadFromArray(context, rebuilt)
      decryptor.decrypt(ct, plain)
      const out = encoder.decodeFloat64(plain) as Float64Array
      values.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 2))
    } finally {
      for (const o of [encoder, decryptor, plain, ct]) o.delete()
    }
  })

  it('refuses a ciphertext of another scale before it leaves the tab', () => {
    expect(codeOf(() => packRequest(saved(), { ...requestShape(he), scale: 2 ** (scaleBits + 1) }))).toBe('internal')
  })

  it('refuses every malformed field with its code, and reads a good section after them', () => {
    const shape = requestShape(he)
    const packed = packRequest(saved(), shape)
    // one reader for every section, as the evaluator keeps one per model
    const reader = new PackedRequestReader(shape)
    const edit = (f: (b: Uint8Array) => void) => {
      const b = packed.slice()
      f(b)
      return () => reader.read(b, 'ciphertext 0')
    }
    expect(codeOf(edit((b) => (b[0] = 0)))).toBe('bad_packing')
    expect(codeOf(edit((b) => (b[4] = 7)))).toBe('bad_packing')
    expect(codeOf(edit((b) => (b[6] = 1)))).toBe('bad_packing')
    expect(codeOf(edit((b) => b.fill(0xff, 72, 80)))).toBe('bad_packing') // the first coefficient, all ones
    expect(codeOf(edit((b) => b.fill(0xff, b.byteLength - 8)))).toBe('bad_packing') // the last one
    expect(codeOf(() => reader.read(packed.subarray(0, packed.byteLength - 4), 'ciphertext 0'))).toBe('wrong_object_size')
    expect(codeOf(() => reader.read(packed.subarray(0, 5), 'ciphertext 0'))).toBe('wrong_object_size')
    expect(codeOf(edit(() => {}))).toBe('no error')
    expect(Buffer.compare(Buffer.from(reader.read(packed, 'ciphertext 0')), Buffer.from(new PackedRequestReader(shape).read(packed, 'ciphertext 0')))).toBe(0)
  })
})

describe('packed requests of a shipped model', () => {
  it('are what KeyOwner sends: one published size for every image', async () => {
    const manifest = migrateManifest(JSON.parse(readFileSync(new URL('../../server/models/mnist-cnn/manifest.json', import.meta.url), 'utf8')))
    const spec = clientSpec(manifest)
    const owner = await KeyOwner.create(publicModel(manifest))
    try {
      const pixels = 28 * 28
      const images = [new Float64Array(pixels), Float64Array.from({ length: pixels }, (_, i) => (i % 13) / 3 - 2), new Float64Array(pixels).fill(2.8)]
      for (const image of images) {
        const sections = unpack(owner.encrypt(image), ContainerKind.request, spec.request.sections)
        for (const s of sections) {
          expect(isPackedRequest(s)).toBe(true)
          expect(s.byteLength).toBe(spec.request.packed.bytes)
        }
      }
      expect(spec.request.packed.primeBits).toEqual(manifest.he.coeffModulusBits.slice(0, -1))
    } finally {
      owner.dispose()
    }
  })
})
