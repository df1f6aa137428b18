/**
 * The evaluation plan: how a model's layers map onto CKKS slots, which
 * rotations they need and how many levels they consume. It is derived from the
 * manifest alone (geometry + HE parameters), so the client can compute the
 * rotation steps and input layout from the public part of a manifest, and a
 * second model is new data, not new code.
 *
 * Packing, in short:
 * - conv2d (first layer): the client sends patches tap-major (tap t, position p
 *   at slot (t mod B) * P + p, B = blocks of P slots per ciphertext). Output
 *   channel c lands at (c mod B) * P + p. Every weight then sits on a
 *   "generalised diagonal" whose rotation is a multiple of P: a handful of
 *   rotations with two keys (P and n1 * P) compute all channels at once.
 * - square: square, relinearise, rescale, per ciphertext.
 * - dense: the hybrid diagonal method. Output o is accumulated in every slot
 *   congruent to o modulo a power of two M >= units, needing diagonals 0..M-1,
 *   then one fold (rotations by multiples of M) sums all copies. After the fold
 *   every slot s holds logit (s mod M): nothing but the logits (and zeros) is
 *   returned, so no partial sum of the weights leaks to the client.
 */
import { convShape } from '../model/geometry'
import { firstConvGeometry } from '../model/forward'
import type { HeParams, InputSpec, LayerGeometry } from '../model/manifest'

export const DEFAULT_HE_PARAMS: HeParams = {
  scheme: 'ckks',
  polyModulusDegree: 8192,
  // q0 holds the result (scale 2^33, logits up to 2^16); three 33-bit primes are
  // consumed by conv, square and dense; the 60-bit special prime keeps
  // key-switching noise far below the scale. 209 bits <= 218 allowed at tc128.
  coeffModulusBits: [50, 33, 33, 33, 60],
  scaleBits: 33,
  securityLevel: 'tc128',
}

/** How many copies one fold level sums: more per level means fewer keys, more rotations. */
export const DEFAULT_FOLD_RADIX = 16

/** Where one logical vector element lives. */
export interface Layout {
  ciphertexts: number
  /** ciphertext index per logical element */
  ct: Int32Array
  /** slot per logical element */
  slot: Int32Array
}

export interface LinearStagePlan {
  kind: 'linear'
  layer: number
  /** all rotation offsets are multiples of this */
  unit: number
  kMin: number
  kMax: number
  /** baby steps per giant step */
  n1: number
  giant: number
  input: Layout
  output: Layout
  /** logical output element -> logical row of the layer (for bias placement after a fold, all copies) */
  fold?: { period: number; levels: Array<{ step: number; count: number }> }
  /** which (input ct, output ct, k) products exist, from structure only */
  terms: Array<{ input: number; output: number; k: number }>
}

export interface SquareStagePlan {
  kind: 'square'
  layer: number
}

export type StagePlan = LinearStagePlan | SquareStagePlan

export interface EvaluationPlan {
  slots: number
  stages: StagePlan[]
  /** the client's ciphertext layout: patch value (tap t, position p) is element t * positions + p */
  input: Layout & { positions: number; taps: number }
  /** where logit o is read after decryption */
  outputSlots: number[]
  outputCiphertexts: number
  /** rescales performed, = levels of the modulus chain consumed */
  depth: number
  rotationSteps: number[]
}

type Model = { input: InputSpec; layers: LayerGeometry[]; he: HeParams }

const mod = (a: number, n: number) => ((a % n) + n) % n

function layoutOf(ciphertexts: number, ct: number[], slot: number[]): Layout {
  return { ciphertexts, ct: Int32Array.from(ct), slot: Int32Array.from(slot) }
}

export function derivePlan(model: Model, foldRadix = DEFAULT_FOLD_RADIX): EvaluationPlan {
  const slots = model.he.polyModulusDegree / 2
  const geometry = firstConvGeometry(model)
  const { positions, taps } = convShape(geometry)
  if (positions > slots) throw new Error(`plan: ${positions} conv positions do not fit in ${slots} slots`)
  const blocks = Math.floor(slots / positions)

  // Client input: tap t -> ciphertext floor(t / blocks), block t mod blocks.
  const inCt: number[] = []
  const inSlot: number[] = []
  for (let t = 0; t < taps; t++) {
    for (let p = 0; p < positions; p++) {
      inCt.push(Math.floor(t / blocks))
      inSlot.push((t % blocks) * positions + p)
    }
  }
  const input = { ...layoutOf(Math.ceil(taps / blocks), inCt, inSlot), positions, taps }

  const stages: StagePlan[] = []
  let current: Layout = input
  let width = taps * positions
  let depth = 0
  model.layers.forEach((layer, index) => {
    if (layer.type === 'square') {
      stages.push({ kind: 'square', layer: index })
      depth++
      return
    }
    if (layer.type === 'conv2d') {
      if (index !== 0) throw new Error('plan: conv2d is supported as the first layer only')
      const filters = layer.filters
      const stage = convStage(index, current, taps, positions, filters, blocks, slots)
      stages.push(stage)
      current = stage.output
      width = positions * filters
      depth++
      return
    }
    if (layer.type === 'dense') {
      const units = layer.units
      const stage = denseStage(index, current, width, units, slots, foldRadix)
      stages.push(stage)
      current = stage.output
      width = units
      depth++
      return
    }
    throw new Error(`plan: unsupported layer type ${String((layer as { type: unknown }).type)}`)
  })
  const last = stages.at(-1)
  if (!last || last.kind !== 'linear' || !last.fold) throw new Error('plan: the last layer must be dense')
  const dataPrimes = model.he.coeffModulusBits.length - 1
  if (depth > dataPrimes - 1) {
    throw new Error(`plan: the model needs ${depth} levels, the modulus chain offers ${dataPrimes - 1}`)
  }
  return {
    slots,
    stages,
    input,
    outputSlots: Array.from(current.slot),
    outputCiphertexts: current.ciphertexts,
    depth,
    rotationSteps: rotationSteps(stages, slots),
  }
}

/** The part a client may see and needs: steps and layout, no weights involved. */
export function derivePublicPlan(model: Model) {
  const plan = derivePlan(model)
  return { rotationSteps: plan.rotationSteps, depth: plan.depth }
}

/**
 * conv: logical output element p * filters + c (the plaintext model's flatten
 * order) at ciphertext floor(c / blocks), slot (c mod blocks) * P + p, then
 * shifted by kMin * P, which is where baby-step/giant-step leaves it.
 */
function convStage(layer: number, input: Layout, taps: number, positions: number, filters: number, blocks: number, slots: number): LinearStagePlan {
  const termKeys = new Set<string>()
  const terms: LinearStagePlan['terms'] = []
  let kMin = Infinity
  let kMax = -Infinity
  for (let t = 0; t < taps; t++) {
    for (let c = 0; c < filters; c++) {
      const a = Math.floor(t / blocks)
      const b = Math.floor(c / blocks)
      const k = (t % blocks) - (c % blocks)
      kMin = Math.min(kMin, k)
      kMax = Math.max(kMax, k)
      const key = `${a},${b},${k}`
      if (!termKeys.has(key)) {
        termKeys.add(key)
        terms.push({ input: a, output: b, k })
      }
    }
  }
  const ct: number[] = []
  const slot: number[] = []
  for (let p = 0; p < positions; p++) {
    for (let c = 0; c < filters; c++) {
      ct.push(Math.floor(c / blocks))
      slot.push(mod((c % blocks) * positions + p + kMin * positions, slots))
    }
  }
  const outputs = Math.ceil(filters / blocks)
  const { n1, giant } = bsgs(kMax - kMin + 1, input.ciphertexts, outputs)
  return {
    kind: 'linear',
    layer,
    unit: positions,
    kMin,
    kMax,
    n1,
    giant,
    input,
    output: layoutOf(outputs, ct, slot),
    terms,
  }
}

function denseStage(layer: number, input: Layout, width: number, units: number, slots: number, radix: number): LinearStagePlan {
  if (input.ct.length !== width) throw new Error(`plan: dense layer ${layer} expects ${input.ct.length} inputs`)
  let period = 1
  while (period < units) period *= 2
  if (period > slots) throw new Error(`plan: dense layer ${layer} has more units than slots`)
  const terms: LinearStagePlan['terms'] = []
  for (let a = 0; a < input.ciphertexts; a++) for (let k = 0; k < period; k++) terms.push({ input: a, output: 0, k })
  const { n1, giant } = bsgs(period, input.ciphertexts, 1)
  const levels: Array<{ step: number; count: number }> = []
  let stride = period
  let copies = slots / period
  while (copies > 1) {
    const r = Math.min(radix, copies)
    levels.push({ step: stride, count: r - 1 })
    stride *= r
    copies = Math.ceil(copies / r)
  }
  return {
    kind: 'linear',
    layer,
    unit: 1,
    kMin: 0,
    kMax: period - 1,
    n1,
    giant,
    input,
    output: layoutOf(1, Array(units).fill(0), Array.from({ length: units }, (_, o) => o)),
    fold: { period, levels },
    terms,
  }
}

/**
 * Baby-step count minimising rotations: baby steps are paid once per input
 * ciphertext, giant steps once per output ciphertext.
 */
export function bsgs(count: number, inputs: number, outputs: number): { n1: number; giant: number } {
  let best = { n1: 1, giant: count, cost: outputs * (count - 1) }
  for (let n1 = 2; n1 <= count; n1++) {
    const giant = Math.ceil(count / n1)
    const cost = inputs * (n1 - 1) + outputs * (giant - 1)
    if (cost < best.cost) best = { n1, giant, cost }
  }
  return { n1: best.n1, giant: best.giant }
}

function rotationSteps(stages: StagePlan[], slots: number): number[] {
  const steps = new Set<number>()
  for (const s of stages) {
    if (s.kind !== 'linear') continue
    if (s.n1 > 1) steps.add(mod(s.unit, slots))
    if (s.giant > 1) steps.add(mod(s.n1 * s.unit, slots))
    for (const level of s.fold?.levels ?? []) steps.add(mod(level.step, slots))
  }
  steps.delete(0)
  return [...steps].sort((a, b) => a - b)
}

/**
 * Galois element SEAL uses for a left rotation by `step` slots (mirrors
 * GaloisTool::get_elt_from_step): 3^step mod 2N, negative steps as N/2 - |step|.
 */
export function galoisElement(step: number, polyModulusDegree: number): number {
  const m = 2 * polyModulusDegree
  const half = polyModulusDegree / 2
  if (step === 0) return m - 1
  let e = step < 0 ? half + step : step
  if (e <= 0 || e >= half) throw new Error(`rotation step ${step} out of range`)
  let g = 1
  while (e-- > 0) g = (g * 3) % m
  return g
}
