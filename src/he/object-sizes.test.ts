// The closed form for ciphertext sizes, checked against what SEAL writes for several chains and levels.
import SEAL from 'node-seal'
import { describe, expect, it } from 'vitest'
import { createHeContext } from './context'
import { ciphertextSizes, measureKeySizes, uploadBounds } from './object-sizes'

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
      // key sizes are measured, not derived: seeded keys are about half of full ones
      const keys = measureKeySizes(he, [1, 2])
      expect(keys.relin[0]).toBeLessThan(keys.relin[1])
      expect(keys.galois[0]).toBeLessThan(keys.galois[1])
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
