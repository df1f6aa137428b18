/**
 * Client and server roles in separate SEAL instances, talking only through
 * bytes, against the plaintext reference on official MNIST test digits.
 */
import SEAL from 'node-seal'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadMnist } from '../../scripts/mnist'
import { loadModelDir, MODELS_DIR } from '../../server/model-files'
import { argmax, forward, normalise } from '../model/forward'
import { publicModel, type ModelManifest, type Weights } from '../model/manifest'
import { randomModel } from '../model/random-model'
import { createHeContext, type Seal } from './context'
import { BlindfoldError } from './errors'
import { ModelEvaluator, type LoadedKeys } from './evaluator'
import { KeyOwner } from './key-owner'
import { DEFAULT_HE_PARAMS } from './plan'
import { ContainerKind, pack, unpack } from './wire'

/** Largest |encrypted - plaintext| logit difference tolerated (measured ~2e-5). */
const LOGIT_TOLERANCE = 1e-3
const IMAGES = 200

let clientSeal: Seal
let serverSeal: Seal
let manifest: ModelManifest
let weights: Weights
let owner: KeyOwner
let evaluator: ModelEvaluator
let keys: LoadedKeys
const test = loadMnist('test')
const image = (i: number) => normalise(test.pixels.subarray(i * 784, i * 784 + 784), manifest)

beforeAll(async () => {
  clientSeal = await SEAL()
  serverSeal = await SEAL()
  expect(clientSeal).not.toBe(serverSeal)
  ;({ manifest, weights } = await loadModelDir(`${MODELS_DIR}/mnist-cnn`))
  owner = await KeyOwner.create(publicModel(manifest), clientSeal)
  evaluator = await ModelEvaluator.create(manifest, weights, serverSeal)
  keys = evaluator.loadKeys(owner.evaluationKeys.slice())
})

afterAll(() => {
  keys?.dispose()
  evaluator?.dispose()
  owner?.dispose()
})

const code = (fn: () => unknown): string => {
  try {
    fn()
  } catch (e) {
    if (e instanceof BlindfoldError) return e.code
    throw e
  }
  return 'no error'
}
const codeAsync = async (fn: () => Promise<unknown>): Promise<string> => {
  try {
    await fn()
  } catch (e) {
    if (e instanceof BlindfoldError) return e.code
    throw e
  }
  return 'no error'
}

describe('encrypted inference on the shipped model', () => {
  it(`matches the plaintext logits and argmax on ${IMAGES} official test images`, () => {
    let maxError = 0
    let disagreements = 0
    let correct = 0
    for (let i = 0; i < IMAGES; i++) {
      const x = image(i)
      const response = evaluator.classify(keys, owner.encrypt(x).slice())
      const logits = owner.decrypt(response.slice())
      const reference = forward(manifest, weights, x)
      for (let o = 0; o < logits.length; o++) maxError = Math.max(maxError, Math.abs(logits[o] - reference[o]))
      if (argmax(logits) !== argmax(reference)) disagreements++
      if (argmax(logits) === test.labels[i]) correct++
    }
    expect(maxError).toBeLessThan(LOGIT_TOLERANCE)
    expect(disagreements).toBe(0)
    expect(correct / IMAGES).toBeGreaterThan(0.95)
  })

  it('returns only logits: every slot holds a copy of a logit or zero, no partial sums', () => {
    const x = image(0)
    const slots = owner.decryptSlots(evaluator.classify(keys, owner.encrypt(x)))
    const reference = forward(manifest, weights, x)
    const stage = evaluator.plan.stages.at(-1)!
    const period = stage.kind === 'linear' ? stage.fold!.period : 0
    expect(period).toBe(16)
    for (let s = 0; s < slots.length; s++) {
      const expected = s % period < 10 ? reference[s % period] : 0
      expect(Math.abs(slots[s] - expected)).toBeLessThan(LOGIT_TOLERANCE)
    }
  })
})

describe('a second geometry is data, not code', () => {
  it.each([
    { kernel: 7, stride: 3, filters: 20, packing: 'patches' as const },
    { kernel: 4, stride: 2, filters: 30, packing: 'patches' as const },
    { kernel: 3, stride: 1, filters: 12, packing: 'image' as const },
  ])('conv $kernel x $kernel / $stride with $filters filters ($packing) matches its plaintext reference', async (g) => {
    const m = randomModel({ ...g, seed: 3 })
    const o = await KeyOwner.create(publicModel(m.manifest), clientSeal)
    const e = await ModelEvaluator.create(m.manifest, m.weights, serverSeal)
    const k = e.loadKeys(o.evaluationKeys)
    try {
      for (let i = 0; i < 3; i++) {
        const x = image(i)
        const logits = o.decrypt(e.classify(k, o.encrypt(x)))
        const reference = forward(m.manifest, m.weights, x)
        for (let j = 0; j < 10; j++) expect(Math.abs(logits[j] - reference[j])).toBeLessThan(LOGIT_TOLERANCE)
      }
    } finally {
      k.dispose()
      e.dispose()
      o.dispose()
    }
  })
})

describe('parameters', () => {
  it('refuses parameter sets SEAL does not accept at 128-bit security', () => {
    const tooMany = { ...DEFAULT_HE_PARAMS, coeffModulusBits: [60, 60, 60, 60, 60] } // 300 > 218 bits
    expect(code(() => createHeContext(serverSeal, tooMany))).toBe('insecure_parameters')
    const smallN = { ...DEFAULT_HE_PARAMS, polyModulusDegree: 4096 } // 209 > 109 bits
    expect(code(() => createHeContext(serverSeal, smallN))).toBe('insecure_parameters')
    const noSecurity = { ...DEFAULT_HE_PARAMS, securityLevel: 'none' as unknown as 'tc128' }
    expect(code(() => createHeContext(serverSeal, noSecurity))).toBe('insecure_parameters')
  })

  it('refuses malformed parameter sets with a clear error', () => {
    expect(code(() => createHeContext(serverSeal, { ...DEFAULT_HE_PARAMS, coeffModulusBits: [50, 70, 60] }))).toBe('invalid_parameters')
    expect(code(() => createHeContext(serverSeal, { ...DEFAULT_HE_PARAMS, polyModulusDegree: 1000 }))).toBe('invalid_parameters')
  })

  it('refuses a model whose published rotation steps differ from its derived plan', async () => {
    const tampered = { ...manifest, plan: { rotationSteps: [1, 2, 3] } }
    expect(await codeAsync(() => ModelEvaluator.create(tampered, weights, serverSeal))).toBe('model_mismatch')
    expect(await codeAsync(() => KeyOwner.create(publicModel(tampered), clientSeal))).toBe('model_mismatch')
  })
})

describe('rejections', () => {
  const otherParams = { ...DEFAULT_HE_PARAMS, coeffModulusBits: [50, 30, 30, 30, 60], scaleBits: 30 }

  it('rejects evaluation keys and ciphertexts made for other parameters', async () => {
    const other = randomModel({ filters: 56, he: otherParams })
    const stranger = await KeyOwner.create(publicModel(other.manifest), clientSeal)
    try {
      expect(code(() => evaluator.loadKeys(stranger.evaluationKeys))).toBe('seal_rejected')
      expect(code(() => evaluator.classify(keys, stranger.encrypt(image(0))))).toBe('seal_rejected')
    } finally {
      stranger.dispose()
    }
  })

  it('rejects keys lacking a rotation step the plan needs, and keys with extra steps', () => {
    const steps = evaluator.plan.rotationSteps
    const keysWith = (galoisSteps: number[]) => {
      const he = createHeContext(clientSeal, manifest.he)
      const kg = new clientSeal.KeyGenerator(he.context)
      const relin = kg.createRelinKeysSerializable()
      const galois = kg.createGaloisKeysSerializableWithSteps(Int32Array.from(galoisSteps))
      try {
        const z = clientSeal.ComprModeType.zstd
        return pack(ContainerKind.evaluationKeys, [relin.saveToArray(z), galois.saveToArray(z)])
      } finally {
        relin.delete()
        galois.delete()
        kg.delete()
        he.dispose()
      }
    }
    expect(code(() => evaluator.loadKeys(keysWith(steps.slice(1))))).toBe('missing_rotation_step')
    const extra = [3, 5, 7, 9, 11].find((k) => !steps.includes(k))!
    expect(code(() => evaluator.loadKeys(keysWith([...steps, extra])))).toBe('unexpected_rotation_step')
  })

  it('rejects corrupt and truncated bytes', () => {
    const request = owner.encrypt(image(0))
    const [section] = unpack(request, ContainerKind.request, 1)
    const flipped = section.slice()
    for (let i = 64; i < flipped.length; i += 997) flipped[i] ^= 0xff
    expect(code(() => evaluator.classify(keys, pack(ContainerKind.request, [flipped])))).toBe('seal_rejected')
    const truncated = section.slice(0, section.length >> 1)
    expect(code(() => evaluator.classify(keys, pack(ContainerKind.request, [truncated])))).toBe('seal_rejected')
    expect(code(() => evaluator.classify(keys, request.slice(0, request.length - 10)))).toBe('bad_container')
    expect(code(() => evaluator.classify(keys, new Uint8Array(0)))).toBe('bad_container')
    expect(code(() => evaluator.classify(keys, crypto.getRandomValues(new Uint8Array(4096))))).toBe('bad_container')
  })

  it('rejects a wrong container version and kind', () => {
    const request = owner.encrypt(image(0))
    const v2 = request.slice()
    v2[4] = 2
    expect(code(() => evaluator.classify(keys, v2))).toBe('unsupported_version')
    expect(code(() => evaluator.loadKeys(request))).toBe('wrong_kind')
    expect(code(() => evaluator.classify(keys, owner.evaluationKeys))).toBe('wrong_kind')
  })

  it('rejects ciphertexts at the wrong level or scale', () => {
    const he = createHeContext(clientSeal, manifest.he)
    const kg = new clientSeal.KeyGenerator(he.context)
    const sk = kg.secretKey()
    const pk = kg.createPublicKey()
    const encoder = new clientSeal.CKKSEncoder(he.context)
    const encryptor = new clientSeal.Encryptor(he.context, pk, sk)
    const ev = new clientSeal.Evaluator(he.context)
    const plain = new clientSeal.Plaintext()
    const ct = new clientSeal.Ciphertext()
    try {
      const z = clientSeal.ComprModeType.zstd
      encoder.encode(new Float64Array(4096).fill(0.5), 2 ** 30, plain)
      encryptor.encrypt(plain, ct)
      expect(code(() => evaluator.classify(keys, pack(ContainerKind.request, [ct.saveToArray(z)])))).toBe('wrong_scale')
      ev.cipherModSwitchToNextInplace(ct)
      expect(code(() => evaluator.classify(keys, pack(ContainerKind.request, [ct.saveToArray(z)])))).toBe('wrong_level')
    } finally {
      for (const h of [ct, plain, ev, encryptor, encoder, pk, sk, kg]) h.delete()
      he.dispose()
    }
  })
})
