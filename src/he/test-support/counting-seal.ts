/**
 * A SEAL module whose Evaluator objects count what they are asked to do: the
 * real evaluator, every method still SEAL's own, with a tally per operation
 * kind and level in front of the ones an image's stages use. Tests read the
 * tally to check that a plan's operation counts (op-counts.ts) are what the
 * model evaluator performs.
 */
import type { Seal } from '../context'
import { count, emptyCounts, type OpCounts, type OpKind } from '../op-counts'

type Ciphertext = InstanceType<Seal['Ciphertext']>

/** Evaluator methods by the operation they perform; the first argument is the ciphertext operated on. */
const KIND_OF: Record<string, OpKind> = {
  rotateVector: 'rotations',
  rotateVectorInplace: 'rotations',
  multiplyPlain: 'plainProducts',
  multiplyPlainInplace: 'plainProducts',
  square: 'squares',
  squareInplace: 'squares',
  multiply: 'products',
  multiplyInplace: 'products',
  relinearize: 'relinearisations',
  relinearizeInplace: 'relinearisations',
  rescaleToNext: 'rescales',
  rescaleToNextInplace: 'rescales',
  add: 'additions',
  addInplace: 'additions',
  addPlain: 'plainAdditions',
  addPlainInplace: 'plainAdditions',
}

export interface Tally {
  /** counts since the last `take` */
  counts: OpCounts
  /** other evaluator methods called since the last `take` */
  other: string[]
  /** returns what was counted and starts afresh */
  take(): { counts: OpCounts; other: string[] }
}

/**
 * `seal` with a counting Evaluator; `topPrimes` is the data primes of the
 * model's top level, so that a ciphertext's level is topPrimes minus its own.
 */
export function countingSeal(seal: Seal, topPrimes: number): { seal: Seal; tally: Tally } {
  const tally: Tally = {
    counts: emptyCounts(),
    other: [],
    take() {
      const taken = { counts: tally.counts, other: tally.other }
      tally.counts = emptyCounts()
      tally.other = []
      return taken
    },
  }
  const Real = seal.Evaluator
  function CountingEvaluator(context: ConstructorParameters<Seal['Evaluator']>[0]) {
    const ev = new Real(context) as unknown as Record<string, unknown>
    const proto = Object.getPrototypeOf(ev) as Record<string, unknown>
    for (const name of Object.getOwnPropertyNames(proto)) {
      const method = proto[name]
      if (typeof method !== 'function' || name === 'constructor' || name === 'delete' || name.startsWith('is')) continue
      ev[name] = function (this: unknown, ...args: unknown[]) {
        const kind = KIND_OF[name]
        if (kind) count(tally.counts, kind, topPrimes - (args[0] as Ciphertext).coeffModulusSize())
        else tally.other.push(name)
        return (method as (...a: unknown[]) => unknown).apply(ev, args)
      }
    }
    return ev
  }
  const wrapped = new Proxy(seal, { get: (target, key) => (key === 'Evaluator' ? CountingEvaluator : target[key as keyof Seal]) })
  return { seal: wrapped, tally }
}
