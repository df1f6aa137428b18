/**
 * What a derived plan holds (plan.ts derives it): the stages in order, the
 * client's input layout, where the logits are read, the rotation steps. Plain
 * data the client, the server and the evaluator read alike.
 */
import type { Shape } from '../model/geometry'
import type { ConvPacking } from './conv-packing'
import type { GatherPlan } from './gather'
import type { Layout } from './grid'
import type { BabyChain } from './rotation-search'

export type { Layout } from './grid'

export interface LinearStagePlan {
  kind: 'linear'
  /** manifest layer indices folded into this stage */
  layers: number[]
  /** the activation after this stage, if poly: its affine halves fold into this stage and the next */
  polyBefore?: number
  polyAfter?: number
  /** all rotation offsets are multiples of this */
  unit: number
  /** every offset is (origin + k) * unit with 0 <= k <= span; the output is left shifted by origin * unit */
  origin: number
  /** offsets read modulo the slot count (see offsetIndex) */
  cyclic: boolean
  span: number
  /** k = g * n1 + j: j a baby step, g a giant step */
  n1: number
  giant: number
  babies: BabyChain
  input: Layout
  output: Layout
  /** output activation's shape */
  shape: Shape
  /** dense runs: outputs repeat every `period` slots; the fold sums the copies level by level */
  fold?: { period: number; levels: Array<{ step: number; count: number }> }
  /** which (input ct, output ct, k) products exist, from structure only */
  terms: Array<{ input: number; output: number; k: number }>
  /** a staggered pool opening the run, summed before the stage (gather.ts): `input` is then the gathered layout */
  gather?: GatherPlan
}

export interface SquareStagePlan {
  kind: 'square'
  layer: number
}

/**
 * The bilinear read-out (manifest layer `bilinear`, always last). The dense
 * stage before it writes factor k of logit i at slot k * stride + i of its
 * period, and the second factor half a period further; after its fold every
 * slot repeats that period. One rotation by `half` lines each first factor up
 * with its second, one ciphertext product (one level) multiplies them, and the
 * result repeats every `half` slots; the fold then sums the copies spaced
 * `stride` apart, which cover that whole period: every slot ends as a full
 * logit (slot i mod stride) or zero, never a partial sum.
 */
export interface ProductStagePlan {
  kind: 'product'
  layer: number
  /** rotation that aligns the second factors with the first */
  half: number
  /** the rotations (steps, summing to `half`) that make it: keys of other stages where a few of them do (alignPath) */
  align: number[]
  /** logits repeat every `period` (= stride) slots after the fold */
  fold: { period: number; levels: Array<{ step: number; count: number }> }
}

export type StagePlan = LinearStagePlan | SquareStagePlan | ProductStagePlan

export interface EvaluationPlan {
  slots: number
  stages: StagePlan[]
  /** the client's ciphertext layout (see ConvPacking) */
  input: Layout & { positions: number; taps: number; packing: 'patches' | 'image'; copies: number }
  /** the first conv's packing: the evaluator reads its input elements through it */
  conv: ConvPacking
  /** where logit o is read after decryption */
  outputSlots: number[]
  /** which ciphertext of the response holds logit o */
  outputCts: number[]
  outputCiphertexts: number
  /** rescales performed, = levels of the modulus chain consumed */
  depth: number
  rotationSteps: number[]
}

const mod = (a: number, n: number) => ((a % n) + n) % n

/**
 * Index k (0..span) of the rotation that moves input slot sIn onto output
 * slot sOut, r = sIn - sOut mod slots, in the stage's representation.
 */
export function offsetIndex(stage: Pick<LinearStagePlan, 'unit' | 'origin' | 'cyclic'>, r: number, slots: number): number {
  const k = offsetIndexOrNaN(stage, r, slots)
  if (Number.isNaN(k)) throw new Error(`plan: offset ${r} is not a multiple of the stage's unit ${stage.unit}`)
  return k
}

/** offsetIndex, or NaN where r is not a multiple of the stage's unit (for tables of every r). */
export function offsetIndexOrNaN(stage: Pick<LinearStagePlan, 'unit' | 'origin' | 'cyclic'>, r: number, slots: number): number {
  const signed = stage.cyclic ? r : r > slots / 2 ? r - slots : r
  if (signed % stage.unit) return NaN
  const k = signed / stage.unit - stage.origin
  return stage.cyclic ? mod(k, slots / stage.unit) : k
}
