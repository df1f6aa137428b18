/**
 * Client role: the only holder of the secret key. It generates keys, encodes an
 * image into the plan's input layout (im2col by the first layer's public
 * geometry; no weight is needed or known), encrypts, and decrypts logits.
 *
 * The secret key is a private field with no accessor: nothing on this object
 * can hand it out, and the worker exposes only this object's methods.
 */
import { convShape, im2col } from '../model/geometry'
import { firstConvGeometry } from '../model/forward'
import type { PublicModel } from './public-model'
import { createHeContext, loadSeal, type HeContext, type Seal } from './context'
import { BlindfoldError, guard } from './errors'
import { derivePlan } from './plan'
import type { EvaluationPlan } from './evaluation-plan'
import { maxPackedBytes, sealCiphertextBytes, unpackCiphertext } from './packed-ciphertext'
import { ContainerKind, pack, unpack } from './wire'
import { keySetLayouts, packKeySet } from './packed-keys'
import { packRequest, requestShape } from './packed-request'
import type { SeededShape } from './seeded-ciphertext'

export interface KeyTimings {
  /** SEAL's context for keys and encryption (the top two levels: context.ts says why not the whole chain) */
  contextMs: number
  /**
   * deriving the plan from the public geometry and checking its rotation steps against the
   * published ones the keys were made for (verifyPlan; 0 until it has run)
   */
  planMs: number
  /** the keys and their serialisation */
  keygenMs: number
}

/** What decrypting a response needs: the whole chain, and a decryptor and a decoder on it. */
interface Decryption {
  he: HeContext
  decryptor: InstanceType<Seal['Decryptor']>
  decoder: InstanceType<Seal['CKKSEncoder']>
  /** brings a response's coefficients back to NTT form, which SEAL's CKKS decryption takes */
  evaluator: InstanceType<Seal['Evaluator']>
  /** what building it took */
  ms: number
}

/**
 * The published rotation steps keys are made for, before the plan that must need them is derived:
 * distinct whole steps within the slots, and no more than SEAL's default set (two per power of
 * two, which reaches every rotation), so a malformed list costs a clear error, not a key set
 * without bound.
 */
function publishedSteps(model: PublicModel): number[] {
  const steps = model.plan.rotationSteps
  const slots = model.he.polyModulusDegree / 2
  const most = 2 * Math.log2(slots)
  const valid =
    Array.isArray(steps) &&
    steps.length <= most &&
    new Set(steps).size === steps.length &&
    steps.every((s) => Number.isInteger(s) && s !== 0 && Math.abs(s) < slots)
  if (!valid) throw new BlindfoldError('model_mismatch', `the model's published rotation steps are not a valid set for ${slots} slots`)
  return [...steps]
}

export class KeyOwner {
  readonly model: PublicModel
  /** relinearisation + Galois keys, seeded and packed (packed-keys.ts), in a wire container */
  readonly evaluationKeys: Uint8Array
  readonly timings: KeyTimings
  /** key level and first data level only: keys, encoding, encryption */
  private readonly he: HeContext
  /** the whole modulus chain, which a response at the plan's last level needs; made by prepareDecryption */
  private decryption?: Decryption
  private readonly secretKey: InstanceType<Seal['SecretKey']>
  private readonly encryptor: InstanceType<Seal['Encryptor']>
  private readonly encoder: InstanceType<Seal['CKKSEncoder']>
  /** the fresh ciphertexts' level and scale, which packing checks */
  private readonly inputShape: SeededShape
  /** the steps the Galois keys were made for: the published ones */
  private readonly rotationSteps: number[]
  private derived?: EvaluationPlan
  private disposed = false

  private constructor(he: HeContext, model: PublicModel, rotationSteps: number[], contextMs: number) {
    const started = performance.now()
    this.he = he
    this.model = model
    this.rotationSteps = rotationSteps
    const { seal, context } = he
    const keygen = new seal.KeyGenerator(context)
    const none = seal.ComprModeType.none
    const layouts = keySetLayouts(he.keyLevel, this.rotationSteps)
    let publicKey: InstanceType<Seal['PublicKey']> | undefined
    let secretKey: KeyOwner['secretKey'] | undefined
    let encryptor: KeyOwner['encryptor'] | undefined
    let encoder: KeyOwner['encoder'] | undefined
    try {
      publicKey = keygen.createPublicKey()
      secretKey = keygen.secretKey()
      encryptor = new seal.Encryptor(context, publicKey, secretKey)
      encoder = new seal.CKKSEncoder(context)
      const relin = keygen.createRelinKeysSerializable()
      const galois = keygen.createGaloisKeysSerializableWithSteps(Int32Array.from(this.rotationSteps))
      try {
        this.evaluationKeys = pack(ContainerKind.evaluationKeys, [
          packKeySet(relin.saveToArray(none) as Uint8Array, layouts.relin),
          packKeySet(galois.saveToArray(none) as Uint8Array, layouts.galois),
        ])
      } finally {
        relin.delete()
        galois.delete()
      }
    } catch (e) {
      // a SEAL failure part way: what was made so far is freed too, not only the generator
      encoder?.delete()
      encryptor?.delete()
      secretKey?.delete()
      throw e
    } finally {
      publicKey?.delete()
      keygen.delete()
    }
    this.secretKey = secretKey
    this.encryptor = encryptor
    this.inputShape = requestShape(he)
    this.encoder = encoder
    this.timings = { contextMs, planMs: 0, keygenMs: performance.now() - started }
  }

  /**
   * The plan, derived from the model's public geometry on first use: everything that encodes,
   * encrypts or decrypts goes through it, so nothing is encrypted before verifyPlan has passed.
   */
  get plan(): EvaluationPlan {
    return this.derived ?? this.verifyPlan()
  }

  /**
   * Derives the plan and checks that it needs exactly the rotation steps the keys were made for.
   * Keys are made from the published steps first so that a worker can run this while they upload;
   * a mismatch then means the server has keys for steps it chose itself, which reveal nothing a
   * matching model asking for the same steps would not (Galois keys are evaluation keys).
   */
  verifyPlan(): EvaluationPlan {
    if (this.derived) return this.derived
    const started = performance.now()
    const plan = derivePlan(this.model)
    this.timings.planMs = performance.now() - started
    if (plan.rotationSteps.join(',') !== this.rotationSteps.join(',')) {
      throw new BlindfoldError('model_mismatch', "the model's published rotation steps differ from the plan derived from its geometry")
    }
    this.derived = plan
    return plan
  }

  static async create(model: PublicModel, seal?: Seal): Promise<KeyOwner> {
    const steps = publishedSteps(model)
    const loaded = seal ?? (await loadSeal())
    const started = performance.now()
    const he = createHeContext(loaded, model.he, { chain: false })
    try {
      return new KeyOwner(he, model, steps, performance.now() - started)
    } catch (e) {
      he.dispose()
      throw e
    }
  }

  /** Lays out a normalised image as the plan's input vectors (one per ciphertext). */
  layout(normalised: ArrayLike<number>): Float64Array[] {
    const { input, slots } = this.plan
    const g = firstConvGeometry(this.model)
    const expected = g.inputHeight * g.inputWidth * (g.channels ?? 1)
    if (normalised.length !== expected) {
      throw new BlindfoldError('wrong_size', `image has ${normalised.length} values, expected ${expected}`)
    }
    let values: ArrayLike<number> = normalised
    if (input.packing === 'patches') {
      const { positions, taps } = convShape(g)
      const patches = new Float64Array(positions * taps)
      im2col(normalised, g, patches, 0, 0) // zero padding in normalised space
      values = patches
    }
    // 'image' packing repeats the image once per channel block: element i is pixel i mod H*W
    const vectors = Array.from({ length: input.ciphertexts }, () => new Float64Array(slots))
    for (let i = 0; i < input.ct.length; i++) vectors[input.ct[i]][input.slot[i]] = values[i % values.length]
    return vectors
  }

  /** Encrypts a normalised image into a request container (seeded symmetric ciphertexts, packed). */
  encrypt(normalised: ArrayLike<number>): Uint8Array {
    this.assertLive()
    const { seal } = this.he
    const sections = this.layout(normalised).map((values) => {
      const plain = new seal.Plaintext()
      try {
        this.encoder.encode(values, 2 ** this.model.he.scaleBits, plain)
        const ct = this.encryptor.encryptSymmetricSerializable(plain)
        try {
          return packRequest(ct.saveToArray(seal.ComprModeType.none) as Uint8Array, this.inputShape)
        } finally {
          ct.delete()
        }
      } finally {
        plain.delete()
      }
    })
    return pack(ContainerKind.request, sections)
  }

  /** Decrypts a response container into the model's logits. */
  decrypt(response: Uint8Array): Float64Array {
    const slots = this.decryptSlots(response)
    return Float64Array.from(this.plan.outputSlots, (s) => slots[s])
  }

  /**
   * The largest response container the plan allows (every coefficient unrounded):
   * the HTTP layer stops reading past it.
   */
  get maxResponseBytes(): number {
    if (this.plan.depth >= this.model.he.coeffModulusBits.length - 1) {
      throw new BlindfoldError('model_mismatch', 'the model is deeper than its modulus chain')
    }
    return 8 + this.plan.outputCiphertexts * (4 + maxPackedBytes(this.model.he.polyModulusDegree, this.he.q0))
  }

  /**
   * Every slot of a response: what the server actually returned, for inspection and tests.
   * The server's bytes are as untrusted here as the client's are on the server: the
   * container and every field of the packed ciphertext are checked in JS, and SEAL gets
   * an object this side wrote (packed-ciphertext.ts), at the last level of its own chain.
   */
  decryptSlots(response: Uint8Array): Float64Array {
    this.assertLive()
    const { seal } = this.he
    if (response.byteLength > this.maxResponseBytes) {
      throw new BlindfoldError('wrong_object_size', `response of ${response.byteLength} bytes exceeds the ${this.maxResponseBytes} the model allows`)
    }
    const [section] = unpack(response, ContainerKind.response, this.plan.outputCiphertexts)
    const N = this.model.he.polyModulusDegree
    const packed = unpackCiphertext(section, N, this.he.q0)
    const { he, decryptor, decoder, evaluator } = this.prepareDecryption()
    const last = he.levels[he.levels.length - 1]
    const ct = new seal.Ciphertext()
    const plain = new seal.Plaintext()
    try {
      const bytes = sealCiphertextBytes(last.parmsId.values() as BigUint64Array, N, packed)
      guard('seal_rejected', 'response ciphertext rejected', () => ct.loadFromArray(he.context, bytes))
      evaluator.cipherTransformToNttInplace(ct)
      decryptor.decrypt(ct, plain)
      return Float64Array.from(decoder.decodeFloat64(plain) as ArrayLike<number>)
    } finally {
      plain.delete()
      ct.delete()
    }
  }

  /**
   * Builds the whole modulus chain and the decryptor on it, once; the first decrypt
   * calls it if nobody did before. The worker calls it while the server computes the
   * first image, so that its cost (most of a context's, see context.ts) is added
   * neither to the session's nor to the answer's. `ms`: what it took.
   */
  prepareDecryption(): Decryption {
    this.assertLive()
    if (this.decryption) return this.decryption
    const started = performance.now()
    const he = createHeContext(this.he.seal, this.model.he)
    let decryptor: Decryption['decryptor'] | undefined
    let decoder: Decryption['decoder'] | undefined
    try {
      // the secret key lives at the key level, whose parms id both contexts share
      decryptor = new he.seal.Decryptor(he.context, this.secretKey)
      // an encoder decodes only at levels its own context has
      decoder = new he.seal.CKKSEncoder(he.context)
      const evaluator = new he.seal.Evaluator(he.context)
      this.decryption = { he, decryptor, decoder, evaluator, ms: performance.now() - started }
      return this.decryption
    } catch (e) {
      decoder?.delete()
      decryptor?.delete()
      he.dispose()
      throw e
    }
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.encoder.delete()
    if (this.decryption) {
      this.decryption.evaluator.delete()
      this.decryption.decoder.delete()
      this.decryption.decryptor.delete()
      this.decryption.he.dispose()
    }
    this.encryptor.delete()
    this.secretKey.delete()
    this.he.dispose()
  }

  private assertLive() {
    if (this.disposed) throw new BlindfoldError('internal', 'keys were disposed')
  }
}
