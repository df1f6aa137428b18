/**
 * How much of SEAL's heap a model's encoded weights take on the server, from
 * its plan alone, so that a model too large for one heap is refused at load
 * with its size instead of failing halfway through encoding with SEAL's
 * `std::bad_alloc`. Isomorphic: no DOM, no Node.
 */
import type { EvaluationPlan } from './evaluation-plan'

/** node-seal is 32-bit WASM: one heap (one server worker, one browser worker) holds at most 4 GiB. */
export const WASM_HEAP_MAX_BYTES = 4 * 2 ** 30

/**
 * What the encoded weights of every model one worker serves may take: the
 * last GiB is for SEAL's context, loaded evaluation keys (the pool's key cache
 * keeps the pool's AUTO_HEAP_HEADROOM_BYTES, 1 GiB, above the models for them)
 * and a job's ciphertexts.
 */
export const ENCODED_WEIGHTS_BUDGET_BYTES = WASM_HEAP_MAX_BYTES - 2 ** 30

export interface EncodedWeightSize {
  /** SEAL plaintexts: one per (input ct, output ct, rotation offset) product the plan allows, one bias per output ct */
  plaintexts: number
  bytes: number
  /** per plan stage (0 for a square stage, which holds no weights) */
  stageBytes: number[]
}

/**
 * Upper bound (the evaluator skips all-zero diagonals) of the encoded weights'
 * size: a plaintext at a stage's level holds N coefficients for each prime
 * left in the chain there, 8 bytes each. Stage i works at level i: every stage,
 * linear or square, ends with one rescale.
 */
export function encodedWeightSize(plan: Pick<EvaluationPlan, 'stages'>, he: { polyModulusDegree: number; coeffModulusBits: number[] }): EncodedWeightSize {
  const dataPrimes = he.coeffModulusBits.length - 1
  let plaintexts = 0
  const stageBytes = plan.stages.map((stage, level) => {
    if (stage.kind !== 'linear') return 0
    const count = stage.terms.length + stage.output.ciphertexts
    plaintexts += count
    return count * he.polyModulusDegree * (dataPrimes - level) * 8
  })
  return { plaintexts, bytes: stageBytes.reduce((a, b) => a + b, 0), stageBytes }
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`

/**
 * Throws when a model's encoded weights, with those of the models already in
 * the same heap, need more than the budget. The message names the size and
 * the costliest stage, which is where fewer channels save the most.
 */
export function checkEncodedWeights(name: string, size: EncodedWeightSize, loadedBytes = 0, budget = ENCODED_WEIGHTS_BUDGET_BYTES): void {
  if (loadedBytes + size.bytes <= budget) return
  const worst = size.stageBytes.indexOf(Math.max(...size.stageBytes))
  throw new Error(
    `model ${name}: its encoded weights need ${gib(size.bytes)} (${size.plaintexts} SEAL plaintexts; stage ${worst} alone ${gib(size.stageBytes[worst])})` +
      (loadedBytes > 0 ? ` on top of ${gib(loadedBytes)} for the models loaded before it` : '') +
      `, over the ${gib(budget)} a server worker keeps for weights (one SEAL heap is 32-bit WASM, at most ${gib(WASM_HEAP_MAX_BYTES)}). ` +
      `Use fewer channels in stage ${worst}${loadedBytes > 0 ? ', or serve this model from its own server' : ''}`,
  )
}
