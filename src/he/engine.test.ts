/**
 * Client and server roles in separate SEAL instances, talking only through
 * bytes, against the plaintext reference on official MNIST test digits.
 */
import SEAL from 'node-seal'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadMnistSplit } from '../datasets'
import { loadModelDir, MODELS_DIR } from '../datasets/model-files'
import { argmax, forward, normalise } from '../model/forward'
import type { ModelManifest, Weights } from '../model/manifest'
import { publicModel } from './public-model'
import { randomModel } from './random-model'
import { createHeContext, type Seal } from './context'
import { BlindfoldError } from './errors'
import { ModelEvaluator } from './evaluator'
import { EvaluationJob, type LoadedKeys } from './evaluation-job'
import { KeyOwner } from './key-owner'
import { DEFAULT_HE_PARAMS } from './params'
import { ContainerKind, pack, unpack, WIRE_FORMAT_VERSION } from './wire'
import { codeOf } from './test-support/error-code'

/** Largest |encrypted - plaintext| logit difference tolerated: well above CKKS noise, well below a changed answer. */
const LOGIT_TOLERANCE = 1e-3
const IMAGES = 200

let clientSeal: Seal
let serverSeal: Seal
let manifest: ModelManifest
let weights: Weights
let owner: KeyOwner
let evaluator: ModelEvaluator
let keys: LoadedKeys
const test = loadMnistSplit('test')
const image = (i: number) => normalise(test.images.subarray(i * 784, i * 784 + 784), manifest)

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

const code = codeOf
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

describe('progress and cancellation', () => {
  it('reports every stage in order, with the names of the plan', () => {
    const x = image(5)
    const seen: Array<[number, number, string]> = []
    const logits = owner.decrypt(evaluator.classify(keys, owner.encrypt(x), { onStage: (done, total, name) => seen.push([done, total, name]) }))
    expect(argmax(logits)).toBe(argmax(forward(manifest, weights, x)))
    expect(evaluator.stageNames).toEqual(['conv1', 'poly1', 'pool1+dense1'])
    expect(seen).toEqual([
      [1, 3, 'conv1'],
      [2, 3, 'poly1'],
      [3, 3, 'pool1+dense1'],
    ])
  })

  it('stops with cancelled at every check, freeing every ciphertext the job made, and evaluates on afterwards', () => {
    const made: Array<{ isDeleted(): boolean }> = []
    const track = EvaluationJob.prototype.track
    const spy = vi.spyOn(EvaluationJob.prototype, 'track').mockImplementation(function (this: EvaluationJob, c) {
      made.push(c as unknown as { isDeleted(): boolean })
      return track.call(this, c)
    })
    try {
      // how many checks one evaluation makes: cancel before the first, and after each of them
      let checks = 0
      evaluator.classify(keys, owner.encrypt(image(6)), { cancelled: () => (checks++, false) })
      expect(checks).toBeGreaterThan(evaluator.plan.stages.length)
      for (let stopAt = 0; stopAt < checks; stopAt++) {
        made.length = 0
        let calls = 0
        const stages: number[] = []
        const result = code(() => evaluator.classify(keys, owner.encrypt(image(6)), { cancelled: () => calls++ >= stopAt, onStage: (d) => stages.push(d) }))
        expect(result, `stopped at check ${stopAt}`).toBe('cancelled')
        expect(stages.length).toBeLessThan(evaluator.plan.stages.length)
        expect(made.length).toBeGreaterThan(0)
        expect(made.filter((c) => !c.isDeleted())).toHaveLength(0)
      }
    } finally {
      spy.mockRestore()
    }
    const x = image(7)
    expect(argmax(owner.decrypt(evaluator.classify(keys, owner.encrypt(x))))).toBe(argmax(forward(manifest, weights, x)))
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
    // the client makes keys for the published steps, then refuses to encode anything under the mismatched plan
    const owner = await KeyOwner.create(publicModel(tampered), clientSeal)
    try {
      expect(code(() => owner.verifyPlan())).toBe('model_mismatch')
      expect(code(() => owner.encrypt(image(0)))).toBe('model_mismatch')
    } finally {
      owner.dispose()
    }
  })

  it('refuses published rotation steps no plan could need before making keys for them', async () => {
    const slots = manifest.he.polyModulusDegree / 2
    for (const rotationSteps of [[1, 1], [0], [slots], [1.5], Array.from({ length: 2 * Math.log2(slots) + 1 }, (_, i) => i + 1)]) {
      expect(await codeAsync(() => KeyOwner.create(publicModel({ ...manifest, plan: { rotationSteps } }), clientSeal))).toBe('model_mismatch')
    }
  })
})

describe('rejections', () => {
  const otherParams = { ...DEFAULT_HE_PARAMS, coeffModulusBits: [50, 30, 30, 30, 60], scaleBits: 30 }

  it('rejects evaluation keys and ciphertexts made for other parameters', async () => {
    const other = randomModel({ filters: 56, he: otherParams })
    const stranger = await KeyOwner.create(publicModel(other.manifest), clientSeal)
    try {
      // its Galois keys are for other steps, and its primes have other bits: both differ in size from the plan's
      expect(code(() => evaluator.loadKeys(stranger.evaluationKeys))).toBe('wrong_object_size')
      expect(code(() => evaluator.classify(keys, stranger.encrypt(image(0))))).toBe('wrong_object_size')
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
    // a key set for other steps has another size: refused before SEAL, naming the steps needed
    const message = (fn: () => unknown) => {
      try {
        fn()
      } catch (e) {
        return `${(e as BlindfoldError).code}: ${(e as Error).message}`
      }
      return 'no error'
    }
    expect(message(() => evaluator.loadKeys(keysWith(steps.slice(1))))).toMatch(new RegExp(`^wrong_object_size: Galois keys for rotation steps ${steps.join(', ')}\\b`))
    const extra = [3, 5, 7, 9, 11].find((k) => !steps.includes(k))!
    expect(message(() => evaluator.loadKeys(keysWith([...steps, extra])))).toMatch(/^wrong_object_size: Galois keys for rotation steps/)
  })

  it('rejects corrupt and truncated bytes', () => {
    const request = owner.encrypt(image(0))
    const [section] = unpack(request, ContainerKind.request, 1)
    const flipped = section.slice()
    for (let i = 64; i < flipped.length; i += 997) flipped[i] ^= 0xff
    // a packed section: a flipped seed or a coefficient still below its prime is merely another
    // ciphertext (the client's answer is noise), one at or above its prime is refused; never a crash
    expect(['bad_packing', 'no error']).toContain(code(() => evaluator.classify(keys, pack(ContainerKind.request, [flipped]))))
    const truncated = section.slice(0, section.length >> 1)
    expect(code(() => evaluator.classify(keys, pack(ContainerKind.request, [truncated])))).toBe('wrong_object_size')
    expect(code(() => evaluator.classify(keys, request.slice(0, request.length - 10)))).toBe('bad_container')
    expect(code(() => evaluator.classify(keys, new Uint8Array(0)))).toBe('bad_container')
    expect(code(() => evaluator.classify(keys, crypto.getRandomValues(new Uint8Array(4096))))).toBe('bad_container')
  })

  it('rejects a wrong container version and kind', () => {
    const request = owner.encrypt(image(0))
    for (const version of [WIRE_FORMAT_VERSION - 1, WIRE_FORMAT_VERSION + 1]) {
      const other = request.slice()
      other[4] = version
      expect(code(() => evaluator.classify(keys, other))).toBe('unsupported_version')
    }
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
      // one prime fewer: its size already tells it is not a fresh ciphertext
      expect(code(() => evaluator.classify(keys, pack(ContainerKind.request, [ct.saveToArray(z)])))).toBe('wrong_object_size')
    } finally {
      for (const h of [ct, plain, ev, encryptor, encoder, pk, sk, kg]) h.delete()
      he.dispose()
    }
  })
})

describe('hostile bytes in both directions', () => {
  it('refuses a ciphertext flagged as not in NTT form at load, not mid-evaluation', () => {
    const he = createHeContext(clientSeal, manifest.he)
    const kg = new clientSeal.KeyGenerator(he.context)
    const sk = kg.secretKey()
    const encoder = new clientSeal.CKKSEncoder(he.context)
    const encryptor = new clientSeal.Encryptor(he.context, kg.createPublicKey(), sk)
    const plain = new clientSeal.Plaintext()
    try {
      encoder.encode(new Float64Array(4096).fill(0.5), 2 ** manifest.he.scaleBits, plain)
      const ct = encryptor.encryptSymmetricSerializable(plain)
      const bytes = ct.saveToArray(clientSeal.ComprModeType.none) as Uint8Array
      ct.delete()
      expect(bytes[16 + 32]).toBe(1) // header, parms id, then the NTT flag
      bytes[16 + 32] = 0
      expect(code(() => evaluator.classify(keys, pack(ContainerKind.request, [bytes])))).toBe('not_ntt_form')
    } finally {
      for (const h of [plain, encryptor, encoder, sk, kg]) h.delete()
      he.dispose()
    }
  })

  it('refuses a keys body whose zstd frame declares gigabytes, before decoding it', async () => {
    const { rleFrame, sealZstdSection } = await import('./test-support/zstd-frames')
    const [, galois] = unpack(owner.evaluationKeys, ContainerKind.evaluationKeys, 2)
    const bomb = sealZstdSection(rleFrame({ contentSize: 4 * 2 ** 30, windowLog: 17, blocks: 60_000 }))
    expect(code(() => evaluator.loadKeys(pack(ContainerKind.evaluationKeys, [bomb, galois])))).toBe('wrong_object_size')
  })

  it('the client refuses malformed, oversized or misplaced responses before SEAL loads them', async () => {
    const { rleFrame, sealZstdSection } = await import('./test-support/zstd-frames')
    const good = evaluator.classify(keys, owner.encrypt(image(0)))
    expect(good.byteLength).toBeLessThanOrEqual(owner.maxResponseBytes)
    const oversized = new Uint8Array(owner.maxResponseBytes + 1)
    oversized.set(good)
    expect(code(() => owner.decrypt(oversized))).toBe('wrong_object_size')
    // SEAL objects where packed ciphertexts belong: a zstd frame declaring 4 GB is refused by its
    // first byte (not a polynomial count of 2), and nothing is inflated (the client never inflates
    // a response); a fresh top-level ciphertext handed back as the answer is larger than any answer
    const bomb = pack(ContainerKind.response, [sealZstdSection(rleFrame({ contentSize: 4 * 2 ** 30, windowLog: 17, blocks: 20_000 }))])
    expect(code(() => owner.decrypt(bomb))).toBe('wrong_size')
    const [input] = unpack(owner.encrypt(image(0)), ContainerKind.request, 1)
    expect(code(() => owner.decrypt(pack(ContainerKind.response, [input])))).toBe('wrong_object_size')
    expect(code(() => owner.decrypt(pack(ContainerKind.response, [input.subarray(0, good.byteLength - 12)])))).toBe('wrong_size')
    const [answer] = unpack(good, ContainerKind.response, 1)
    expect(code(() => owner.decrypt(pack(ContainerKind.request, [answer])))).toBe('wrong_kind')
    expect(code(() => owner.decrypt(good.subarray(0, good.byteLength - 1)))).toBe('bad_container')
    // an answer made under another chain (another q0): its coefficients are not as wide as our
    // q0's with the k it declares. (A chain with a q0 of the same width would be read, and
    // decrypt to noise, which is all a lying server can achieve.)
    const otherParams = { ...DEFAULT_HE_PARAMS, coeffModulusBits: [45, 33, 33, 33, 60] }
    const other = randomModel({ filters: 56, he: otherParams })
    const o = await KeyOwner.create(publicModel(other.manifest), clientSeal)
    const e = await ModelEvaluator.create(other.manifest, other.weights, serverSeal)
    const k = e.loadKeys(o.evaluationKeys)
    try {
      expect(code(() => owner.decrypt(e.classify(k, o.encrypt(image(0)))))).toBe('bad_container')
    } finally {
      k.dispose()
      e.dispose()
      o.dispose()
    }
  })

  it('logit noise (a model owner\'s option) moves each logit by one draw on all its copies; other slots stay zero', () => {
    const x = image(1)
    const reference = forward(manifest, weights, x)
    const slots = owner.decryptSlots(evaluator.classify(keys, owner.encrypt(x), { logitNoiseStd: 2 }))
    let moved = 0
    for (let s = 0; s < slots.length; s++) {
      const o = s % 16
      if (o >= 10) expect(Math.abs(slots[s])).toBeLessThan(LOGIT_TOLERANCE)
      else expect(Math.abs(slots[s] - slots[o])).toBeLessThan(LOGIT_TOLERANCE)
    }
    for (let o = 0; o < 10; o++) if (Math.abs(slots[o] - reference[o]) > 0.01) moved++
    // P(|N(0, 2)| <= 0.01) is 0.4% per logit: two of ten left within 0.01 happens about once in
    // 1,400 runs, three about once in 130,000; without the noise none would move
    expect(moved).toBeGreaterThanOrEqual(8)
  })
})
