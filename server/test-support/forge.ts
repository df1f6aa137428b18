/**
 * Hostile and malformed inputs for the bad-input tests, made with SEAL itself
 * (a client's own contexts and keys) or by editing bytes. Every handle is freed.
 */
import { loadSeal, type Seal } from '../../src/he/context'
import { ContainerKind, pack, unpack } from '../../src/he/wire'

export interface RawContextSpec {
  scheme: 'ckks' | 'bfv'
  n: number
  bits: number[]
  /** false builds a context SEAL itself calls insecure (sec level none) */
  secure?: boolean
}

/** A client-side SEAL context + secret key, free to produce anything SEAL can save. */
export class Forger {
  private constructor(
    readonly seal: Seal,
    private readonly context: InstanceType<Seal['SEALContext']>,
    private readonly keygen: InstanceType<Seal['KeyGenerator']>,
    private readonly spec: RawContextSpec,
  ) {}

  static async create(spec: RawContextSpec): Promise<Forger> {
    const seal = await loadSeal()
    const parms = new seal.EncryptionParameters(spec.scheme === 'ckks' ? seal.SchemeType.ckks : seal.SchemeType.bfv)
    const modulus = seal.CoeffModulus.Create(spec.n, Int32Array.from(spec.bits))
    try {
      parms.setPolyModulusDegree(spec.n)
      parms.setCoeffModulus(modulus)
      if (spec.scheme === 'bfv') {
        const plain = seal.PlainModulus.Batching(spec.n, 20)
        parms.setPlainModulus(plain)
        plain.delete()
      }
      const level = spec.secure === false ? seal.SecLevelType.none : seal.SecLevelType.tc128
      const context = new seal.SEALContext(parms, true, level)
      if (!context.parametersSet()) {
        context.delete()
        throw new Error(`forger: SEAL refuses ${JSON.stringify(spec)}`)
      }
      return new Forger(seal, context, new seal.KeyGenerator(context), spec)
    } finally {
      modulus.delete()
      parms.delete()
    }
  }

  /** A seeded symmetric ciphertext of small values, optionally mod-switched or at another scale. */
  ciphertext(opts: { scaleBits?: number; modSwitches?: number; transparent?: boolean } = {}): Uint8Array {
    const { seal, context } = this
    const sk = this.keygen.secretKey()
    const pk = this.keygen.createPublicKey()
    const encryptor = new seal.Encryptor(context, pk, sk)
    const plain = new seal.Plaintext()
    const ct = new seal.Ciphertext()
    const encoder = this.spec.scheme === 'ckks' ? new seal.CKKSEncoder(context) : undefined
    const batch = this.spec.scheme === 'bfv' ? new seal.BatchEncoder(context) : undefined
    const evaluator = new seal.Evaluator(context)
    const zstd = seal.ComprModeType.zstd
    try {
      if (encoder) encoder.encode(Float64Array.from({ length: 64 }, (_, i) => i / 64), 2 ** (opts.scaleBits ?? 33), plain)
      else batch!.encode(BigInt64Array.from({ length: 64 }, (_, i) => BigInt(i)), plain)
      const modSwitches = opts.modSwitches ?? 0
      if (modSwitches === 0 && !opts.transparent) {
        const seeded = encryptor.encryptSymmetricSerializable(plain)
        try {
          return seeded.saveToArray(zstd) as Uint8Array
        } finally {
          seeded.delete()
        }
      }
      encryptor.encryptSymmetric(plain, ct)
      for (let i = 0; i < modSwitches; i++) evaluator.cipherModSwitchToNextInplace(ct)
      if (!opts.transparent) return ct.saveToArray(zstd) as Uint8Array
      // Transparent = c1 all zero. SEAL's evaluator refuses to produce one, so edit an
      // uncompressed save: the data array ends the object and c1 is its last N*k words.
      const raw = ct.saveToArray(seal.ComprModeType.none) as Uint8Array
      const words = this.spec.n * (this.spec.bits.length - 1 - modSwitches)
      raw.fill(0, raw.byteLength - words * 8)
      const edited = new seal.Ciphertext()
      try {
        edited.loadFromArray(context, raw)
        if (!edited.isTransparent()) throw new Error('forger: edit did not make the ciphertext transparent')
        return edited.saveToArray(zstd) as Uint8Array
      } finally {
        edited.delete()
      }
    } finally {
      for (const h of [evaluator, batch, encoder, ct, plain, encryptor, pk, sk]) h?.delete()
    }
  }

  /** An evaluation-keys container with Galois keys for exactly `steps`. */
  evaluationKeys(steps: number[]): Uint8Array {
    const zstd = this.seal.ComprModeType.zstd
    const relin = this.keygen.createRelinKeysSerializable()
    const galois = this.keygen.createGaloisKeysSerializableWithSteps(Int32Array.from(steps))
    try {
      return pack(ContainerKind.evaluationKeys, [relin.saveToArray(zstd) as Uint8Array, galois.saveToArray(zstd) as Uint8Array])
    } finally {
      relin.delete()
      galois.delete()
    }
  }

  dispose(): void {
    this.keygen.delete()
    this.context.delete()
  }
}

export const request = (...sections: Uint8Array[]) => pack(ContainerKind.request, sections)

/** Rewrites one section of a container through `edit` (which may change its length). */
export function editSection(container: Uint8Array, kind: ContainerKind, count: number, index: number, edit: (s: Uint8Array) => Uint8Array): Uint8Array {
  const sections = unpack(container, kind, count).map((s): Uint8Array => s.slice())
  sections[index] = edit(sections[index])
  return pack(kind, sections)
}

/** Sets the u64 size field of a SEAL header. */
export function withSealSize(section: Uint8Array, size: number): Uint8Array {
  const out = section.slice()
  new DataView(out.buffer).setBigUint64(8, BigInt(size), true)
  return out
}
