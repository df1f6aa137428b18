// The closed forms for ciphertext and key sizes, checked against what SEAL writes for several chains, levels and step sets.
import SEAL from 'node-seal'
import { describe, expect, it } from 'vitest'
import { createHeContext, type HeContext } from './context'
import { ciphertextSizes, keySizes, uploadBounds, type KeySizes } from './object-sizes'

/** What SEAL itself writes: a throwaway key set for `steps`, saved uncompressed, seeded and full. */
function savedKeySizes(he: HeContext, steps: readonly number[]): KeySizes {
  const { seal, context } = he
  const none = seal.ComprModeType.none
  const keygen = new seal.KeyGenerator(context)
  const sizeOf = (make: () => { saveToArray(m: typeof none): unknown; delete(): void }) => {
    const object = make()
    try {
      return (object.saveToArray(none) as Uint8Array).byteLength
    } finally {
      object.delete()
    }
  }
  const s = Int32Array.from(steps)
  try {
    return {
      relin: [sizeOf(() => keygen.createRelinKeysSerializable()), sizeOf(() => keygen.createRelinKeys())],
      galois: [sizeOf(() => keygen.createGaloisKeysSerializableWithSteps(s)), sizeOf(() => keygen.createGaloisKeysWithSteps(s))],
    }
  } finally {
    keygen.delete()
  }
}

describe('ciphertextSizes', () => {
  it.each([
    [4096, [40, 20, 40]],
    [8192, [50, 33, 33, 33, 60]],
    [8192, [60, 40, 40, 60]],
    [16384, [60, 40, 40, 40, 40, 60]],
  ])('N=%i, q=%j: seeded and full sizes at every level equal SEAL\'s', async (N, bits) => {
    const seal = await SEAL()
    const he = createHeContext(seal, { scheme: 'ckks', polyModulusDegree: N, coeffModulusBits: bits, scaleBits: 30, securityLevel: 'tc128' })
    const keygen = new seal.KeyGenerator(he.context)
    const sk = keygen.secretKey()
    const pk = keygen.createPublicKey()
    const encryptor = new seal.Encryptor(he.context, pk, sk)
    const encoder = new seal.CKKSEncoder(he.context)
    const evaluator = new seal.Evaluator(he.context)
    const plain = new seal.Plaintext()
    const ct = new seal.Ciphertext()
    const none = seal.ComprModeType.none
    try {
      encoder.encode(Float64Array.from([1, 2, 3]), 2 ** 30, plain)
      const seeded = encryptor.encryptSymmetricSerializable(plain)
      expect((seeded.saveToArray(none) as Uint8Array).byteLength).toBe(ciphertextSizes(N, bits.length - 1).seeded)
      seeded.delete()
      encryptor.encrypt(plain, ct)
      for (let primes = bits.length - 1; primes >= 1; primes--) {
        expect((ct.saveToArray(none) as Uint8Array).byteLength).toBe(ciphertextSizes(N, primes).full)
        if (primes > 1) evaluator.rescaleToNextInplace(ct)
      }
      const keys = keySizes(N, bits.length - 1, [1, 2])
      expect(savedKeySizes(he, [1, 2])).toEqual(keys)
      // the body-limit bound admits what a client sends (seeded keys), and not much more
      const bound = uploadBounds({ polyModulusDegree: N, coeffModulusBits: bits }, 2, 1).keys
      expect(bound).toBeGreaterThanOrEqual(keys.relin[0] + keys.galois[0])
      expect(bound).toBeLessThan(1.1 * (keys.relin[0] + keys.galois[0]) + 8192)
    } finally {
      for (const h of [ct, plain, evaluator, encoder, encryptor, pk, sk, keygen]) h.delete()
      he.dispose()
    }
  })
})

describe('keySizes', () => {
  it.each([
    // the shipped models' chains and steps
    [8192, [50, 33, 33, 33, 60], [1, 4, 16, 28, 256]],
    [8192, [40, 30, 30, 30, 30, 48], [1, 10, 16, 28, 128, 2048]],
    [16384, [60, 40, 40, 40, 40, 40, 40, 40, 60], [1, 16, 256, 1024]],
    // right rotations, steps naming one element (-1 and N/2 - 1), conjugation (step 0), the largest step
    [4096, [40, 20, 40], [-1, 1023, 0, 1, -5, 1023, 2047, -2047]],
    [8192, [60, 40, 40, 60], [3]],
  ])('N=%i, q=%j, steps %j: equal to the seeded and full key sets SEAL saves', async (N, bits, steps) => {
    const seal = await SEAL()
    const he = createHeContext(seal, { scheme: 'ckks', polyModulusDegree: N, coeffModulusBits: bits, scaleBits: 30, securityLevel: 'tc128' }, { chain: false })
    try {
      expect(keySizes(N, bits.length - 1, steps)).toEqual(savedKeySizes(he, steps))
    } finally {
      he.dispose()
    }
  })

  it('refuses a step SEAL refuses (|step| >= N/2) instead of sizing keys nobody can make', async () => {
    const seal = await SEAL()
    const he = createHeContext(seal, { scheme: 'ckks', polyModulusDegree: 4096, coeffModulusBits: [40, 20, 40], scaleBits: 20, securityLevel: 'tc128' }, { chain: false })
    try {
      expect(() => savedKeySizes(he, [2048])).toThrow()
      expect(() => keySizes(4096, 2, [2048])).toThrow(RangeError)
      expect(() => keySizes(4096, 2, [-2048])).toThrow(RangeError)
      expect(() => keySizes(4096, 2, [1.5])).toThrow(RangeError)
    } finally {
      he.dispose()
    }
  })
})
