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
import { offsetIndex, type EvaluationPlan, type LinearStagePlan } from './evaluation-plan'
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
    into.set(i, encodeStage(enc, i, stage, weights, level, prime, outScale))
    scale = outScale
    level++
  }
}

function encodeStage(enc: WeightEncoder, index: number, stage: LinearStagePlan, weights: Weights, level: number, prime: number, outScale: number): LinearWeights {
  const { slots } = enc.plan
  const op = stageOp(enc, index, stage, weights)
  const outputs = stage.output.ciphertexts

  // diagonals[(a, b, k)][logical output slot], logical = before the stage's origin shift
  const diagonals = new Map<string, Float64Array>()
  const diag = (a: number, b: number, k: number) => {
    const key = `${a},${b},${k}`
    let d = diagonals.get(key)
    if (!d) diagonals.set(key, (d = new Float64Array(slots)))
    return d
  }
  const shift = stage.origin * stage.unit
  for (let o = 0; o < op.outputs; o++) {
    const b = stage.output.ct[o]
    const sOut = mod(stage.output.slot[o] - shift, slots)
    op.row(o, (i, value) => {
      if (value === 0) return
      const a = stage.input.ct[i]
      const sIn = stage.input.slot[i]
      if (stage.fold) {
        // hybrid: row o accumulates in the copy of its slot just at or before sIn
        const k = mod(sIn - sOut, stage.fold.period)
        diag(a, 0, k)[mod(sIn - k, slots)] += value
      } else {
        diag(a, b, offsetIndex(stage, mod(sIn - sOut, slots), slots))[sOut] += value
      }
    })
  }

  const products: LinearWeights['products'] = Array.from({ length: outputs }, () =>
    Array.from({ length: stage.giant }, () => []),
  )
  const used = new Set<string>()
  for (const term of stage.terms) {
    const key = `${term.input},${term.output},${term.k}`
    const d = diagonals.get(key)
    used.add(key)
    if (!d) continue
    const g = Math.floor(term.k / stage.n1)
    const j = term.k - g * stage.n1
    // pre-rotate right by (origin + g*n1)*unit: the giant-step rotation moves it back
    const rot = (stage.origin + g * stage.n1) * stage.unit
    const values = new Float64Array(slots)
    for (let s = 0; s < slots; s++) values[s] = d[mod(s - rot, slots)]
    products[term.output][g].push({ input: term.input, baby: j, plain: encode(enc, values, prime, level) })
  }
  for (const key of diagonals.keys()) {
    if (!used.has(key)) throw new BlindfoldError('internal', `stage ${index}: weights need product ${key}, which the plan lacks`)
  }

  const biasPlains: Plaintext[] = []
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
    biasPlains.push(encode(enc, values, outScale, level + 1))
  }
  return { products, bias: biasPlains, outScale }
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

function encode(enc: WeightEncoder, values: Float64Array, scale: number, level: number): Plaintext {
  const plain = new enc.he.seal.Plaintext()
  try {
    enc.encoder.encode(values, scale, plain)
    enc.evaluator.plainModSwitchToInplace(plain, enc.he.levels[level].parmsId)
    // switching down keeps the top level's buffer (SEAL never shrinks on
    // resize): without this a deep model's diagonals take ~2x their size
    plain.shrinkToFit()
    return plain
  } catch (e) {
    plain.delete()
    throw e
  }
}

const mod = (a: number, n: number) => ((a % n) + n) % n
