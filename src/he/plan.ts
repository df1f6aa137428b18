/**
 * The evaluation plan: how a model's layers map onto CKKS slots, which
 * rotations they need and how many levels they consume. It is derived from the
 * manifest's public geometry and HE parameters alone, so the client computes
 * the same rotation steps and input layout, and a second model is new data,
 * not new code.
 *
 * - The network is cut into linear runs between activations (linear-ops.ts);
 *   each run is one stage and one level, each activation (square, or poly
 *   folded into a square) another.
 * - The first conv reads what the client packed (ConvPacking: im2col patches,
 *   or the image repeated). Every later activation lives on a grid: element
 *   (y, x, c) at slot base(c) + y * rowStep + x * colStep of its channel's
 *   ciphertext. A run with total stride s writes its output on the same grid
 *   with steps multiplied by s and places further channels in the gaps
 *   (multiplexed packing), so that every weight of a run sits on a
 *   "generalised diagonal": one rotation offset for all positions.
 * - A linear stage sums rotated inputs times plaintext diagonals, offsets split
 *   baby-step/giant-step. The babies are made by a short chain of rotations
 *   with one or two keys; giant steps cost one rotation per output ciphertext
 *   (the search for these splits and keys: rotation-search.ts).
 * - A run that ends with dense uses the hybrid method: output o accumulates in
 *   every slot congruent to o modulo a power of two M, then a fold sums the
 *   copies. After the last fold every slot holds a logit or zero: nothing but
 *   the logits is returned, no partial sum of the weights reaches the client.
 * - A bilinear read-out (the last layer) multiplies pairs of the dense stage's
 *   outputs, laid out so that one rotation aligns each pair and the fold after
 *   the product again leaves a full logit or zero in every slot (ProductStagePlan).
 */
import { layerShapes } from '../model/geometry'
import { firstConvGeometry, inputShape } from '../model/forward'
import type { HeParams, InputSpec, Layer, LayerGeometry, Weights } from '../model/manifest'
import { convPacking, type ConvPacking } from './conv-packing'
import type { EvaluationPlan, LinearStagePlan, StagePlan } from './evaluation-plan'
import { staggerGroup, staggeredSplit, type GatherPlan } from './gather'
import { gridLayout, keptGrid, layoutOf, stridedGrid, type Grid, type Layout } from './grid'
import { bilinearLayout, denseStage, foldLevels, gridStage } from './linear-stages'
import { avgPoolOp, compose, convOp, denseOp, firstConvOp, linearRuns, type LinearOp, type LinearRun } from './linear-ops'
import { alignPath, chainSteps, keyCost } from './rotation-search'

/** How many copies one fold level sums: more per level means fewer keys, more rotations. */
export const DEFAULT_FOLD_RADIX = 16

type Model = { input: InputSpec; layers: LayerGeometry[]; he: HeParams }

const mod = (a: number, n: number) => ((a % n) + n) % n

export function derivePlan(model: Model, foldRadix = DEFAULT_FOLD_RADIX): EvaluationPlan {
  const slots = model.he.polyModulusDegree / 2
  const runs = linearRuns(model)
  const geometry = firstConvGeometry(model)
  const first = model.layers[0] as Extract<LayerGeometry, { type: 'conv2d' }>
  // a gathered staggered pool after the first conv puts channel c in the block of its group (gather.ts);
  // where the split does not fit, channel c stays with its own copy of the input
  const packing = first.packing ?? 'patches'
  const group = runs.length > 1 ? staggerGroup(model, runs[1]) : 1
  let conv = convPacking(packing, geometry, first.filters, slots, group)
  const firstSplit = group > 1 ? staggeredSplit(model, runs[1], conv.grid, runs[0].stride / first.stride, slots) : undefined
  if (group > 1 && !firstSplit) conv = convPacking(packing, geometry, first.filters, slots)
  const cost = keyCost(model.he.polyModulusDegree)
  const input = { ...conv.input, positions: conv.positions, taps: conv.taps, packing: conv.packing, copies: conv.copies }

  const stages: StagePlan[] = []
  let current: Layout = conv.input
  let grid: Grid | undefined = conv.grid
  let gather: GatherPlan | undefined
  runs.forEach((run, r) => {
    // a gathered staggered pool is summed before the stage, so the stage's map starts after it
    const op = runOp(model, gather ? run.layers.slice(1) : run.layers, r === 0 ? conv : undefined)
    const polyBefore = r > 0 && runs[r - 1].activation?.type === 'poly' ? runs[r - 1].activation!.layer : undefined
    const polyAfter = run.activation?.type === 'poly' ? run.activation.layer : undefined
    let stage: LinearStagePlan
    // the next stage's input, where it is not this stage's output: the sums a gather makes of it
    let gathered: Layout | undefined
    const bilinear = run.activation?.type === 'bilinear' ? bilinearLayout(model.layers[run.activation.layer] as { units: number }, op.outputs, slots) : undefined
    if (run.dense) {
      stage = denseStage(run, op, current, slots, foldRadix, cost, bilinear)
      if (gather) stage.gather = gather
      gather = undefined
    } else {
      // the first run's output grid starts from the first conv's own output grid
      const stride = r === 0 ? run.stride / first.stride : run.stride
      const split = r === 0 ? firstSplit : run.activation && runs[r + 1] ? staggeredSplit(model, runs[r + 1], grid!, stride, slots) : undefined
      // a run that maps each channel onto itself (depthwise convs, pools) leaves channels where they are
      const kept = r > 0 && !split && keepsChannels(model, run) ? keptGrid(grid!, run.output, stride) : undefined
      const out = kept ?? stridedGrid(grid!, run.output, stride)
      stage = gridStage(run, op, current, split?.layout ?? gridLayout(out, slots), slots, cost)
      const shift = stage.origin * stage.unit
      grid = { ...out, base: Int32Array.from(out.base, (b) => b + shift) }
      if (split) {
        gather = split.gather
        gathered = layoutOf(split.gathered.ciphertexts, split.gathered.ct, Array.from(split.gathered.slot, (s) => mod(s + shift, slots)))
      }
    }
    stages.push({ ...stage, polyBefore, polyAfter })
    current = gathered ?? stage.output
    if (bilinear) {
      stages.push({ kind: 'product', layer: run.activation!.layer, half: bilinear.period / 2, align: [], fold: { period: bilinear.stride, levels: foldLevels(bilinear.stride, bilinear.period / 2 / bilinear.stride, foldRadix) } })
      current = layoutOf(1, Array(bilinear.units).fill(0), Array.from({ length: bilinear.units }, (_, i) => i))
    } else if (run.activation) {
      stages.push({ kind: 'square', layer: run.activation.layer })
    }
  })
  // a gather's and a product's rotations (left empty above) are made once every other stage's keys are known
  for (const s of stages) if (s.kind === 'linear' && s.gather) s.gather.paths = s.gather.members.map((ms) => ms.map((m) => (m.rotation ? alignPath(m.rotation, rotationSteps(stages, slots), cost) : [])))
  for (const s of stages) if (s.kind === 'product') s.align = alignPath(s.half, rotationSteps(stages, slots), cost)
  const depth = stages.length
  const bits = model.he.coeffModulusBits
  if (bits[bits.length - 1] < Math.max(...bits.slice(0, -1))) {
    throw new Error(`plan: the special prime (${bits[bits.length - 1]} bits, last) must be at least as large as every data prime (${Math.max(...bits.slice(0, -1))} bits), or key switching adds noise of the order of the scale`)
  }
  const dataPrimes = model.he.coeffModulusBits.length - 1
  if (depth > dataPrimes - 1) {
    throw new Error(`plan: the model needs ${depth} levels, the modulus chain offers ${dataPrimes - 1} (${model.he.coeffModulusBits.length} primes: one for the result, one special)`)
  }
  return {
    slots,
    stages,
    input,
    conv,
    outputSlots: Array.from(current.slot),
    outputCts: Array.from(current.ct),
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
 * The composed linear map of a run's layers: structure only without weights
 * (what the plan reads), values with them (what the evaluator encodes).
 * `conv`: the first conv's packing, when the run starts with the first layer.
 */
export function runOp(model: { input: InputSpec; layers: LayerGeometry[] }, layers: number[], conv?: ConvPacking, weights?: Weights): LinearOp {
  const shapes = shapeLookup(model)
  let op: LinearOp | undefined
  for (const i of layers) {
    const l = model.layers[i] as Layer
    let next: LinearOp
    if (l.type === 'conv2d') {
      next = op === undefined && conv
        ? firstConvOp(l, conv.taps, conv.positions, conv.input.ct.length, conv.inputIndex, weights)
        : convOp(l, shapes.in(i), shapes.out(i), weights)
    } else if (l.type === 'avgpool2d') {
      next = avgPoolOp(l.size, shapes.in(i), shapes.out(i), l.stagger)
    } else if (l.type === 'dense') {
      const s = shapes.in(i)
      next = denseOp(l, s.height * s.width * s.channels, weights)
    } else {
      throw new Error(`plan: layer ${i} (${l.type}) is not linear`)
    }
    op = op ? compose(next, op) : next
  }
  if (!op) throw new Error('plan: an empty linear run')
  return op
}

/** The run has a depthwise conv (one filter per channel), and every layer maps channel c onto channel c alone (a depthwise conv or a pool). */
function keepsChannels(model: { input: InputSpec; layers: LayerGeometry[] }, run: LinearRun): boolean {
  const shapes = shapeLookup(model)
  const depthwise = (i: number) => {
    const l = model.layers[i]
    return l.type === 'conv2d' && l.groups === l.filters && l.filters === shapes.in(i).channels
  }
  return run.layers.some(depthwise) && run.layers.every((i) => depthwise(i) || model.layers[i].type === 'avgpool2d')
}

export function shapeLookup(model: { input: InputSpec; layers: LayerGeometry[] }) {
  const shapes = layerShapes(inputShape(model.input), model.layers)
  return { in: (i: number) => (i === 0 ? inputShape(model.input) : shapes[i - 1]), out: (i: number) => shapes[i] }
}

/** Every rotation step the stages use, one Galois key each: what the client generates keys for. */
function rotationSteps(stages: StagePlan[], slots: number): number[] {
  const steps = new Set<number>()
  for (const s of stages) {
    if (s.kind === 'product') {
      for (const step of s.align) steps.add(step)
      for (const level of s.fold.levels) steps.add(mod(level.step, slots))
    }
    if (s.kind !== 'linear') continue
    for (const path of s.gather?.paths ?? []) for (const p of path) for (const step of p) steps.add(step)
    for (const d of chainSteps(s.babies)) steps.add(mod(d * s.unit, slots))
    if (s.giant > 1) steps.add(mod(s.n1 * s.unit, slots))
    for (const level of s.fold?.levels ?? []) steps.add(mod(level.step, slots))
  }
  steps.delete(0)
  return [...steps].sort((a, b) => a - b)
}
