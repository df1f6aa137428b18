/**
 * CKKS encoders that write a plaintext straight at a level below the top of a
 * context's modulus chain. SEAL encodes at a context's first data level only
 * (node-seal binds no encode at another parms id), so a weight used deep in a
 * network would be encoded over every data prime and switched down, its
 * transforms over the dropped primes wasted. A context whose modulus is a
 * level's primes followed by the special prime has that level as its first
 * data level, and a level's parms id is a hash of its parameters, so what its
 * encoder writes is the main context's plaintext at that level: the same
 * integers (rounding does not depend on the primes) reduced and transformed
 * over the same primes. Isomorphic: no DOM, no Node APIs.
 */
import { sameParms, type HeContext, type Seal } from './context'
import { BlindfoldError } from './errors'

type Encoder = InstanceType<Seal['CKKSEncoder']>
type Plaintext = InstanceType<Seal['Plaintext']>

/**
 * What building a context costs per table of primes it holds (its key level
 * and its first data level), in encodings of one plaintext over one prime:
 * a level gets a context of its own only where the primes its plaintexts
 * skip outweigh it. The first data level's is always there (the main encoder).
 */
const CONTEXT_TABLE_COST_IN_PRIME_ENCODINGS = 128

export class LevelEncoders {
  /** by level index (0 = top); the top level's is the caller's and is not freed here */
  private readonly encoders = new Map<number, { encoder: Encoder; context?: InstanceType<Seal['SEALContext']> }>()

  /** `top`, `evaluator`: the main context's encoder and evaluator (the caller's, not freed here) */
  constructor(
    private readonly he: HeContext,
    top: Encoder,
    private readonly evaluator: InstanceType<Seal['Evaluator']>,
  ) {
    this.encoders.set(0, { encoder: top })
  }

  /**
   * Gives `level` an encoder of its own (a context whose first data level it
   * is) where that costs less than switching its `plaintexts` down.
   */
  prepare(level: number, plaintexts: number): void {
    if (this.encoders.has(level)) return
    const primes = this.he.levels[level].primes
    const skipped = this.he.levels[this.source(level)].primes - primes
    if (plaintexts * skipped < CONTEXT_TABLE_COST_IN_PRIME_ENCODINGS * (2 * primes + 1)) return
    const context = levelContext(this.he, level)
    try {
      this.encoders.set(level, { encoder: new this.he.seal.CKKSEncoder(context), context })
    } catch (e) {
      context.delete()
      throw e
    }
  }

  /**
   * `values` encoded at `scale` as a plaintext at `level`: written by the
   * encoder of the deepest level at or above it, and switched down from there.
   */
  encode(values: Float64Array, scale: number, level: number): Plaintext {
    const from = this.source(level)
    const plain = new this.he.seal.Plaintext()
    try {
      this.encoders.get(from)!.encoder.encode(values, scale, plain)
      if (from !== level) {
        this.evaluator.plainModSwitchToInplace(plain, this.he.levels[level].parmsId)
        // switching down keeps the larger buffer (SEAL never shrinks on resize)
        plain.shrinkToFit()
      }
      return plain
    } catch (e) {
      plain.delete()
      throw e
    }
  }

  /** The deepest level at or above `level` that has an encoder. */
  private source(level: number): number {
    let from = 0
    for (const l of this.encoders.keys()) if (l <= level && l > from) from = l
    return from
  }

  /** Frees the level contexts and their encoders (the plaintexts they wrote belong to the main context). */
  dispose(): void {
    for (const [level, { encoder, context }] of this.encoders) {
      if (level === 0) continue
      encoder.delete()
      context?.delete()
    }
    this.encoders.clear()
  }
}

/** A context (key level and first data level only) whose first data level is `level` of `he`'s chain. */
function levelContext(he: HeContext, level: number): InstanceType<Seal['SEALContext']> {
  const { seal, context } = he
  const keyData = context.keyContextData()
  const keyParms = keyData.parms()
  const keyModulus = keyParms.coeffModulus()
  const primes = seal.jsArrayFromVecModulus(keyModulus) as bigint[]
  keyModulus.delete()
  keyParms.delete()
  keyData.delete()
  const wanted = [...primes.slice(0, he.levels[level].primes), primes[primes.length - 1]]
  const parms = new seal.EncryptionParameters(seal.SchemeType.ckks)
  const modulus = new seal.VectorModulus()
  let result: InstanceType<Seal['SEALContext']> | undefined
  try {
    parms.setPolyModulusDegree(he.params.polyModulusDegree)
    for (const p of wanted) {
      const m = new seal.Modulus(p)
      try {
        modulus.push_back(m)
      } finally {
        m.delete()
      }
    }
    parms.setCoeffModulus(modulus)
    result = new seal.SEALContext(parms, false, seal.SecLevelType.tc128)
    const first = result.firstParmsId()
    const same = result.parametersSet() && sameParms(first, he.levels[level].parmsId)
    first.delete()
    if (!same) throw new BlindfoldError('internal', `no context encodes at level ${level} of the chain`)
    const done = result
    result = undefined
    return done
  } finally {
    result?.delete()
    modulus.delete()
    parms.delete()
  }
}
