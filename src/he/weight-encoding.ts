/**
 * A model's weights as the evaluator multiplies them: each linear stage's
 * composed map (its layers, with a poly activation's affine halves folded in)
 * as plaintext diagonals, pre-rotated for the baby-step/giant-step sum and
 * encoded once at the level and scale where the stage uses them, plus a bias
 * per output ciphertext.
 */
import { tensor, type ModelManifest, type Weights } from '../model/manifest'
import type { HeContext, Seal } from './context'
import { BlindfoldError } from './errors'
import { offsetIndex, offsetIndexOrNaN, type EvaluationPlan, type LinearStagePlan } from './evaluation-plan'
import { LevelEncoders } from './level-encoders'
import { affineOp, compose, gatheredPoolOp, polyAffines, type LinearOp } from './linear-ops'
import { runOp, shapeLookup } from './plan'

type Plaintext = InstanceType<Seal['Plaintext']>

export interface LinearWeights {
  /** pre-rotated diagonals per (output ct, giant step), each with the input ct and baby step it multiplies */
  products: Array<Array<Array<{ input: number; baby: number; plain: Plaintext }>>>
  /** bias per output ct, encoded at the scale the stage ends with */
  bias: Plaintext[]
  /** exact scale of the stage's output, mirrored from SEAL's double arithmetic */
  outScale: number
}

/** What encoding reads of a model evaluator: its context, encoder and evaluator, plan, manifest and input scale. */
export interface WeightEncoder {
  he: HeContext
  encoder: InstanceType<Seal['CKKSEncoder']>
  evaluator: InstanceType<Seal['Evaluator']>
  plan: EvaluationPlan
  manifest: ModelManifest
  inputScale: number
}

/** Frees every plaintext of one stage's weights. */
export function freeLinearWeights(w: LinearWeights): void {
  for (const perOut of w.products) for (const perGiant of perOut) for (const p of perGiant) p.plain.delete()
  for (const b of w.bias) b.delete()
}

/** Encodes every layer's diagonals and biases at the level and scale they meet, into `into` (by stage index). */
export function encodeWeights(enc: WeightEncoder, weights: Weights, into: Map<number, LinearWeights>): void {
  const { levels } = enc.he
  const encoders = new LevelEncoders(enc.he, enc.encoder, enc.evaluator)
  try {
    let level = 0
    let scale = enc.inputScale
    for (let i = 0; i < enc.plan.stages.length; i++) {
      const stage = enc.plan.stages[i]
      if (stage.kind !== 'linear') {
        // a square or a product: two ciphertexts at `scale` multiplied, then one rescale
        scale = (scale * scale) / levels[level].lastPrime
        level++
        continue
      }
      const prime = levels[level].lastPrime
      const outScale = (scale * prime) / prime
      encoders.prepare(level, stage.terms.length)
      into.set(i, encodeStage(enc, encoders, i, stage, weights, level, prime, outScale))
      scale = outScale
      level++
    }
  } finally {
    encoders.dispose()
  }
}

function encodeStage(enc: WeightEncoder, encoders: LevelEncoders, index: number, stage: LinearStagePlan, weights: Weights, level: number, prime: number, outScale: number): LinearWeights {
  const { slots } = enc.plan
  const op = stageOp(enc, index, stage, weights)
  const outputs = stage.output.ciphertexts

  // diagonals[input ct * outputs + output ct][k]: the diagonal already pre-rotated right by
  // (origin + g*n1)*unit, g = k's giant step, which the giant-step rotation moves back
  const span = stage.fold ? stage.fold.period : stage.cyclic ? slots / stage.unit : stage.span + 1
  const diagonals: Array<Array<Float64Array | undefined> | undefined> = []
  const lacks = (a: number, b: number, k: number) => new BlindfoldError('internal', `stage ${index}: weights need product ${a},${b},${k}, which the plan lacks`)
  const diag = (a: number, b: number, k: number) => {
    if (!(k >= 0 && k < span)) throw lacks(a, b, k)
    const byK = (diagonals[a * outputs + b] ??= new Array<Float64Array | undefined>(span).fill(undefined))
    return (byK[k] ??= new Float64Array(slots))
  }
  const rotation = (k: number) => (stage.origin + Math.floor(k / stage.n1) * stage.n1) * stage.unit
  // logical output slot = before the stage's origin shift
  const shift = stage.origin * stage.unit
  const inCt = stage.input.ct
  const inSlot = stage.input.slot
  const fold = stage.fold
  if (fold) {
    for (let o = 0; o < op.outputs; o++) {
      const sOut = mod(stage.output.slot[o] - shift, slots)
      op.row(o, (i, value) => {
        if (value === 0) return
        // hybrid: row o accumulates in the copy of its slot just at or before sIn
        const k = mod(inSlot[i] - sOut, fold.period)
        diag(inCt[i], 0, k)[mod(inSlot[i] - k + rotation(k), slots)] += value
      })
    }
  } else {
    // per entry this is the stage's inner loop (millions of entries for a wide conv): the offset's
    // index and each index's rotation are looked up, and slots (N/2, a power of two) wrap by mask
    const mask = slots - 1
    if (slots & mask) throw new BlindfoldError('internal', `slot count ${slots} is not a power of two`)
    // NaN where an offset is not a multiple of the unit: offsetIndex throws below if a weight needs one
    const kOf = new Float64Array(slots)
    for (let r = 0; r < slots; r++) kOf[r] = offsetIndexOrNaN(stage, r, slots)
    const rot = new Int32Array(span)
    for (let k = 0; k < span; k++) rot[k] = mod(rotation(k), slots)
    for (let o = 0; o < op.outputs; o++) {
      const b = stage.output.ct[o]
      const sOut = mod(stage.output.slot[o] - shift, slots)
      op.row(o, (i, value) => {
        if (value === 0) return
        const r = (inSlot[i] - sOut) & mask
        const k = kOf[r]
        if (Number.isNaN(k)) offsetIndex(stage, r, slots)
        diag(inCt[i], b, k)[(sOut + rot[k]) & mask] += value
      })
    }
  }

  // the plan's terms in its order, each with its diagonal (all-zero diagonals are skipped)
  const used: Array<{ term: LinearStagePlan['terms'][number]; d: Float64Array }> = []
  for (const term of stage.terms) {
    const byK = diagonals[term.input * outputs + term.output]
    const d = byK?.[term.k]
    if (!d) continue
    byK![term.k] = undefined
    used.push({ term, d })
  }
  diagonals.forEach((byK, pair) => {
    const k = byK?.findIndex((d) => d !== undefined) ?? -1
    if (k >= 0) throw lacks(Math.floor(pair / outputs), pair % outputs, k)
  })

  const products: LinearWeights['products'] = Array.from({ length: outputs }, () =>
    Array.from({ length: stage.giant }, () => []),
  )
  const bias: Plaintext[] = []
  try {
    for (const { term, d } of used) {
      const g = Math.floor(term.k / stage.n1)
      products[term.output][g].push({ input: term.input, baby: term.k - g * stage.n1, plain: encoders.encode(d, prime, level) })
    }
    for (let b = 0; b < outputs; b++) {
      const values = new Float64Array(slots)
      for (let o = 0; o < stage.output.ct.length; o++) {
        if (stage.output.ct[o] !== b) continue
        const v = op.bias(o)
        if (stage.fold) {
          for (let s = stage.output.slot[o]; s < slots; s += stage.fold.period) values[s] = v
        } else {
          values[stage.output.slot[o]] = v
        }
      }
      bias.push(encoders.encode(values, outScale, level + 1))
    }
  } catch (e) {
    freeLinearWeights({ products, bias, outScale })
    throw e
  }
  return { products, bias, outScale }
}

/**
 * The stage's linear map with the model's weights: its layers composed, and
 * the affine halves of a poly activation on either side folded in.
 */
function stageOp(enc: WeightEncoder, index: number, stage: LinearStagePlan, weights: Weights): LinearOp {
  const m = enc.manifest
  const shapes = shapeLookup(m)
  const poly = (layer: number) => {
    const l = m.layers[layer]
    if (l.type !== 'poly') throw new BlindfoldError('internal', `layer ${layer} is not poly`)
    const channels = shapes.in(layer).channels
    return polyAffines(tensor(weights, l.coefficients, channels * 3), channels)
  }
  if (stage.gather) {
    // the stage reads window sums of squares: the pool's average and the poly's affine half after its square act on them
    const layer = stage.gather.layer
    const pool = m.layers[layer] as Extract<ModelManifest['layers'][number], { type: 'avgpool2d' }>
    const sums = gatheredPoolOp(pool.size, shapes.in(layer), shapes.out(layer), stage.polyBefore === undefined ? undefined : poly(stage.polyBefore).after)
    let op = compose(runOp(m, stage.layers.slice(1), undefined, weights), sums)
    if (stage.polyAfter !== undefined) {
      const { before } = poly(stage.polyAfter)
      op = compose(affineOp(op.outputs, before.scale.length, before.scale, before.shift), op)
    }
    return op
  }
  let op = runOp(m, stage.layers, index === 0 ? enc.plan.conv : undefined, weights)
  if (stage.polyBefore !== undefined) {
    const { after } = poly(stage.polyBefore)
    op = compose(op, affineOp(op.inputs, after.scale.length, after.scale, after.shift))
  }
  if (stage.polyAfter !== undefined) {
    const { before } = poly(stage.polyAfter)
    op = compose(affineOp(op.outputs, before.scale.length, before.scale, before.shift), op)
  }
  return op
}

const mod = (a: number, n: number) => ((a % n) + n) % n
