/**
 * A plaintext written at a lower level by that level's own context is the
 * main context's plaintext: byte for byte what encoding at the top and
 * switching down gives (parms id, scale, coefficients, buffer size), and it
 * multiplies a ciphertext of the main context at that level.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHeContext, loadSeal, sameParms, type HeContext, type Seal } from './context'
import { LevelEncoders } from './level-encoders'

const params = { scheme: 'ckks' as const, polyModulusDegree: 8192, coeffModulusBits: [40, 30, 30, 30, 30, 48], scaleBits: 30, securityLevel: 'tc128' as const }

describe('level encoders', () => {
  let seal: Seal
  let he: HeContext
  let encoder: InstanceType<Seal['CKKSEncoder']>
  let evaluator: InstanceType<Seal['Evaluator']>
  beforeAll(async () => {
    seal = await loadSeal()
    he = createHeContext(seal, params)
    encoder = new seal.CKKSEncoder(he.context)
    evaluator = new seal.Evaluator(he.context)
  })
  afterAll(() => {
    encoder?.delete()
    evaluator?.delete()
    he?.dispose()
  })

  const saved = (p: InstanceType<Seal['Plaintext']>) => Array.from(p.saveToArray(seal.ComprModeType.none) as Uint8Array)
  const values = Float64Array.from({ length: params.polyModulusDegree / 2 }, (_, i) => Math.sin(i * 0.37) * (i % 7) - 2.5)

  it('writes at every level what encoding at the top and switching down writes', () => {
    const encoders = new LevelEncoders(he, encoder, evaluator)
    try {
      // enough plaintexts for every level to get a context of its own
      for (let level = 1; level < he.levels.length; level++) encoders.prepare(level, Number.MAX_SAFE_INTEGER)
      for (let level = 0; level < he.levels.length; level++) {
        const direct = encoders.encode(values, 2 ** 30, level)
        const reference = new seal.Plaintext()
        try {
          encoder.encode(values, 2 ** 30, reference)
          evaluator.plainModSwitchToInplace(reference, he.levels[level].parmsId)
          reference.shrinkToFit()
          const id = direct.parmsId()
          expect(sameParms(id, he.levels[level].parmsId)).toBe(true)
          id.delete()
          expect(direct.capacity()).toBe(reference.capacity())
          expect(saved(direct)).toEqual(saved(reference))
        } finally {
          direct.delete()
          reference.delete()
        }
      }
    } finally {
      encoders.dispose()
    }
  })

  it('switches down from the deepest level with a context where a level has too few plaintexts for one', () => {
    const encoders = new LevelEncoders(he, encoder, evaluator)
    try {
      encoders.prepare(2, Number.MAX_SAFE_INTEGER)
      encoders.prepare(3, 1) // one plaintext: not worth a context
      const plain = encoders.encode(values, 2 ** 30, 3)
      const reference = new seal.Plaintext()
      try {
        encoder.encode(values, 2 ** 30, reference)
        evaluator.plainModSwitchToInplace(reference, he.levels[3].parmsId)
        reference.shrinkToFit()
        expect(saved(plain)).toEqual(saved(reference))
      } finally {
        plain.delete()
        reference.delete()
      }
    } finally {
      encoders.dispose()
    }
  })

  it('gives a plaintext that multiplies a ciphertext of the main context at its level', () => {
    const encoders = new LevelEncoders(he, encoder, evaluator)
    const keygen = new seal.KeyGenerator(he.context)
    const secret = keygen.secretKey()
    const publicKey = keygen.createPublicKey()
    const encryptor = new seal.Encryptor(he.context, publicKey, secret)
    const decryptor = new seal.Decryptor(he.context, secret)
    const ct = new seal.Ciphertext()
    const input = new seal.Plaintext()
    const out = new seal.Plaintext()
    let weight: InstanceType<Seal['Plaintext']> | undefined
    try {
      encoders.prepare(2, Number.MAX_SAFE_INTEGER)
      const ones = new Float64Array(values.length).fill(1)
      encoder.encode(ones, 2 ** 30, input)
      encryptor.encryptSymmetric(input, ct)
      evaluator.cipherModSwitchToInplace(ct, he.levels[2].parmsId)
      weight = encoders.encode(values, 2 ** 30, 2)
      evaluator.multiplyPlainInplace(ct, weight)
      decryptor.decrypt(ct, out)
      const result = encoder.decodeFloat64(out) as Float64Array
      for (const i of [0, 1, 100, values.length - 1]) expect(result[i]).toBeCloseTo(values[i], 3)
    } finally {
      weight?.delete()
      for (const h of [out, input, ct, decryptor, encryptor, publicKey, secret, keygen]) h.delete()
      encoders.dispose()
    }
  })
})
