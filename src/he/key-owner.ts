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
import type { PublicModel } from '../model/manifest'
import { createHeContext, loadSeal, sameParms, type HeContext, type Level, type Seal } from './context'
import { BlindfoldError, guard } from './errors'
import { ciphertextSizes } from './object-sizes'
import { derivePlan, type EvaluationPlan } from './plan'
import { uncompressedSealObject } from './seal-header'
import { ContainerKind, pack, unpack } from './wire'

export interface KeyTimings {
  keygenMs: number
}

export class KeyOwner {
  readonly plan: EvaluationPlan
  readonly model: PublicModel
  /** relinearisation + Galois keys, seeded and zstd-compressed, in a wire container */
  readonly evaluationKeys: Uint8Array
  readonly timings: KeyTimings
  private readonly he: HeContext
  private readonly secretKey: InstanceType<Seal['SecretKey']>
  private readonly encryptor: InstanceType<Seal['Encryptor']>
  private readonly decryptor: InstanceType<Seal['Decryptor']>
  private readonly encoder: InstanceType<Seal['CKKSEncoder']>
  private disposed = false

  private constructor(he: HeContext, model: PublicModel) {
    const started = performance.now()
    this.he = he
    this.model = model
    this.plan = derivePlan(model)
    if (this.plan.rotationSteps.join(',') !== model.plan.rotationSteps.join(',')) {
      throw new BlindfoldError('model_mismatch', 'the model\'s published rotation steps differ from the plan derived from its geometry')
    }
    const { seal, context } = he
    const keygen = new seal.KeyGenerator(context)
    const publicKey = keygen.createPublicKey()
    const zstd = seal.ComprModeType.zstd
    try {
      this.secretKey = keygen.secretKey()
      this.encryptor = new seal.Encryptor(context, publicKey, this.secretKey)
      this.decryptor = new seal.Decryptor(context, this.secretKey)
      this.encoder = new seal.CKKSEncoder(context)
      const relin = keygen.createRelinKeysSerializable()
      const galois = keygen.createGaloisKeysSerializableWithSteps(Int32Array.from(this.plan.rotationSteps))
      try {
        this.evaluationKeys = pack(ContainerKind.evaluationKeys, [
          relin.saveToArray(zstd) as Uint8Array,
          galois.saveToArray(zstd) as Uint8Array,
        ])
      } finally {
        relin.delete()
        galois.delete()
      }
    } finally {
      publicKey.delete()
      keygen.delete()
    }
    this.timings = { keygenMs: performance.now() - started }
  }

  static async create(model: PublicModel, seal?: Seal): Promise<KeyOwner> {
    const he = createHeContext(seal ?? (await loadSeal()), model.he)
    try {
      return new KeyOwner(he, model)
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

  /** Encrypts a normalised image into a request container (seeded symmetric ciphertexts). */
  encrypt(normalised: ArrayLike<number>): Uint8Array {
    this.assertLive()
    const { seal } = this.he
    const sections = this.layout(normalised).map((values) => {
      const plain = new seal.Plaintext()
      try {
        this.encoder.encode(values, 2 ** this.model.he.scaleBits, plain)
        const ct = this.encryptor.encryptSymmetricSerializable(plain)
        try {
          return ct.saveToArray(seal.ComprModeType.zstd) as Uint8Array
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
   * The largest response container the plan allows: the HTTP layer stops
   * reading past it. (zstd never grows incompressible data by more than a few
   * bytes per 128 KB block; 1 KB per ciphertext covers it.)
   */
  get maxResponseBytes(): number {
    return 8 + this.plan.outputCiphertexts * (4 + this.responseSize() + 1024)
  }

  /**
   * Every slot of a response: what the server actually returned, for inspection and tests.
   * The server's bytes are as untrusted here as the client's are on the server: the
   * container, SEAL header and zstd frame are checked and inflated with an exact bound in
   * JS before SEAL sees them, then parameters, level, size and form before decrypting.
   */
  decryptSlots(response: Uint8Array): Float64Array {
    this.assertLive()
    const { seal, context } = this.he
    if (response.byteLength > this.maxResponseBytes) {
      throw new BlindfoldError('wrong_object_size', `response of ${response.byteLength} bytes exceeds the ${this.maxResponseBytes} the model allows`)
    }
    const [bytes] = unpack(response, ContainerKind.response, this.plan.outputCiphertexts)
    const uncompressed = uncompressedSealObject(bytes, [this.responseSize()], 'response ciphertext')
    const ct = new seal.Ciphertext()
    const plain = new seal.Plaintext()
    try {
      guard('seal_rejected', 'response ciphertext rejected', () => ct.loadFromArray(context, uncompressed))
      this.checkResponse(ct)
      this.decryptor.decrypt(ct, plain)
      return Float64Array.from(this.encoder.decodeFloat64(plain) as ArrayLike<number>)
    } finally {
      plain.delete()
      ct.delete()
    }
  }

  /** The chain level the plan's last stage leaves its output at. */
  private outputLevel(): Level {
    const level = this.he.levels[this.plan.stages.length]
    if (!level) throw new BlindfoldError('model_mismatch', 'the model is deeper than its modulus chain')
    return level
  }

  private responseSize(): number {
    return ciphertextSizes(this.model.he.polyModulusDegree, this.outputLevel().primes).full
  }

  private checkResponse(ct: InstanceType<Seal['Ciphertext']>): void {
    if (ct.size() !== 2) throw new BlindfoldError('wrong_size', `response ciphertext has ${ct.size()} polynomials, expected 2`)
    if (ct.isTransparent()) throw new BlindfoldError('transparent_ciphertext', 'the response ciphertext is transparent')
    if (!ct.isNttForm()) throw new BlindfoldError('not_ntt_form', 'the response ciphertext is not in NTT form')
    const id = ct.parmsId()
    try {
      if (!sameParms(id, this.outputLevel().parmsId)) {
        throw new BlindfoldError('wrong_level', 'the response ciphertext is not at the level the model\'s plan ends at')
      }
    } finally {
      id.delete()
    }
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.encoder.delete()
    this.decryptor.delete()
    this.encryptor.delete()
    this.secretKey.delete()
    this.he.dispose()
  }

  private assertLive() {
    if (this.disposed) throw new BlindfoldError('internal', 'keys were disposed')
  }
}
