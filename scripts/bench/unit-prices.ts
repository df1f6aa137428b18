/**
 * What each SEAL operation a plan performs costs at each level of one model's
 * modulus chain, on this machine, on one thread: the unit prices that turn a
 * plan's operation counts (src/he/op-counts.ts) into the floor under its
 * stage times. `npm run bench:op-costs` prints them; `npm run bench` samples
 * them beside every image it evaluates, so that a floor and the time it is
 * compared with are measured under the same load of a shared machine.
 *
 * Medians of `repeat` calls (products and additions: 3x as many), each after
 * one untimed call (machine-speed.ts timeEach). Every handle is freed.
 */
import { createHeContext, type Seal } from '../../src/he/context'
import type { UnitPrices } from '../../src/he/op-counts'
import type { HeParams } from '../../src/model/manifest'
import { timeEach } from './machine-speed'

export interface LevelPrices extends UnitPrices {
  /** data primes at this level */
  primes: number
}

/** Keys, a ciphertext and a plaintext at each measured level, made once; `measure` times the operations on them. */
export class UnitPriceProbe {
  private readonly handles: Array<{ delete(): void }> = []
  private readonly dispose_: () => void
  readonly measure: (repeat: number) => LevelPrices[]

  /** levels 0 .. `levels` - 1 of `params`' chain (default: every level) */
  constructor(seal: Seal, params: HeParams, levels?: number) {
    const he = createHeContext(seal, params)
    const keep = <T extends { delete(): void }>(h: T): T => (this.handles.push(h), h)
    this.dispose_ = () => {
      for (const h of this.handles.reverse()) h.delete()
      he.dispose()
    }
    try {
      const { context } = he
      const keygen = keep(new seal.KeyGenerator(context))
      const encoder = keep(new seal.CKKSEncoder(context))
      const encryptor = keep(new seal.Encryptor(context, keep(keygen.createPublicKey()), keep(keygen.secretKey())))
      const evaluator = keep(new seal.Evaluator(context))
      const relin = keep(keygen.createRelinKeys())
      const galois = keep(keygen.createGaloisKeysWithSteps(Int32Array.from([1])))
      const values = Float64Array.from({ length: encoder.slotCount() }, (_, i) => Math.sin(i) / 4)
      // an operation's time does not depend on the scale; a small one lets a product's result fit the last level too
      const scale = 2 ** 16
      const fresh = keep(new seal.Ciphertext())
      const plain = keep(new seal.Plaintext())
      encoder.encode(values, scale, plain)
      encryptor.encrypt(plain, fresh)
      const out = keep(new seal.Ciphertext())
      const doubled = keep(new seal.Ciphertext())
      const last = he.levels.length - 1
      const at = Array.from({ length: Math.min(levels ?? he.levels.length, he.levels.length) }, (_, l) => {
        const { parmsId, primes } = he.levels[l]
        const ct = keep(new seal.Ciphertext())
        evaluator.cipherModSwitchTo(fresh, parmsId, ct)
        const other = keep(new seal.Ciphertext())
        evaluator.cipherModSwitchTo(fresh, parmsId, other)
        const weights = keep(new seal.Plaintext())
        encoder.encode(values, scale, weights)
        evaluator.plainModSwitchToInplace(weights, parmsId)
        return { level: l, primes, ct, other, weights }
      })
      this.measure = (repeat) =>
        at.map(({ level, primes, ct, other, weights }) => {
          const plainProduct = timeEach(3 * repeat, () => evaluator.multiplyPlain(ct, weights, out))
          // a rescale needs a product's result (scale squared) to act on; the last level has no prime left to drop
          let rescale = 0
          if (level < last) {
            evaluator.multiplyPlain(ct, weights, doubled)
            rescale = timeEach(repeat, () => evaluator.rescaleToNext(doubled, out))
          }
          evaluator.square(ct, doubled)
          const relinearise = timeEach(repeat, () => evaluator.relinearize(doubled, relin, out))
          return {
            level,
            primes,
            rotate: timeEach(repeat, () => evaluator.rotateVector(ct, 1, galois, out)),
            plainProduct,
            square: timeEach(repeat, () => evaluator.square(ct, out)),
            product: timeEach(repeat, () => evaluator.multiply(ct, other, out)),
            relinearise,
            rescale,
            add: timeEach(3 * repeat, () => evaluator.add(ct, ct, out)),
            addPlain: timeEach(3 * repeat, () => evaluator.addPlain(ct, weights, out)),
          }
        })
    } catch (e) {
      this.dispose_()
      throw e
    }
  }

  dispose(): void {
    this.dispose_()
  }
}

/** Unit prices at levels 0 .. `levels` - 1 of `params`' chain (default: every level), measured once. */
export function measureUnitPrices(seal: Seal, params: HeParams, repeat = 10, levels?: number): LevelPrices[] {
  const probe = new UnitPriceProbe(seal, params, levels)
  try {
    return probe.measure(repeat)
  } finally {
    probe.dispose()
  }
}
