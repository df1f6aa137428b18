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
import { convShape, layerShapes, type ConvGeometry, type Shape } from '../model/geometry'
import { firstConvGeometry, inputShape } from '../model/forward'
import type { HeParams, InputSpec, Layer, LayerGeometry, Weights } from '../model/manifest'
import { avgPoolOp, compose, convOp, denseOp, firstConvOp, linearRuns, type LinearOp, type LinearRun } from './linear-ops'
import { alignPath, bsgs, bsgsCost, chainSteps, keyCost, type BabyChain } from './rotation-search'
import { staggerGroup, staggeredSplit, type GatherPlan } from './gather'
import { gridLayout, layoutOf, stridedGrid, type Grid, type Layout } from './grid'

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

type Model = { input: InputSpec; layers: LayerGeometry[]; he: HeParams }

const mod = (a: number, n: number) => ((a % n) + n) % n
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))

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
      const out = stridedGrid(grid!, run.output, stride)
      const split = r === 0 ? firstSplit : run.activation && runs[r + 1] ? staggeredSplit(model, runs[r + 1], grid!, stride, slots) : undefined
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

export function shapeLookup(model: { input: InputSpec; layers: LayerGeometry[] }) {
  const shapes = layerShapes(inputShape(model.input), model.layers)
  return { in: (i: number) => (i === 0 ? inputShape(model.input) : shapes[i - 1]), out: (i: number) => shapes[i] }
}

/**
 * How the client packs the first layer's input and where each channel lands.
 * - 'patches': the client sends im2col patches tap-major (tap t, position p at
 *   block t mod B, slot offset p); the conv is a sum over taps, i.e. over
 *   rotations by multiples of P. Fewest rotations; any stride, padding and
 *   channel count.
 * - 'image': the client sends the image, repeated once per channel block; the
 *   server shifts it by ky * W + kx for each tap. One channel, stride 1, no
 *   padding; every output position of a channel sits where its window starts,
 *   in that channel's copy of the image.
 */
export interface ConvPacking {
  packing: 'patches' | 'image'
  input: Layout
  /** where the first conv's outputs would sit before the stage's shift: the grid later runs build on */
  grid: Grid
  /** blocks per ciphertext (patches: of P slots; image: copies of the image) */
  copies: number
  filters: number
  taps: number
  positions: number
  /** logical input element read by tap t of position p for channel c */
  inputIndex(t: number, p: number, c: number): number
}

/**
 * `group`: channels that share an output block (a staggered pool's groups,
 * gather.ts); with 'image' packing channel c reads the copy of the image in
 * that block, so its taps need no rotation across blocks.
 */
export function convPacking(packing: 'patches' | 'image', g: ConvGeometry, filters: number, slots: number, group = 1): ConvPacking {
  const { positions, taps, outH, outW } = convShape(g)
  const channelGrid = (copies: number, blockSize: number, rowStep: number): Grid => ({
    shape: { height: outH, width: outW, channels: filters },
    rowStep,
    colStep: 1,
    blockSize,
    blocksPerCt: copies,
    offsets: [0],
    ct: Int32Array.from({ length: filters }, (_, c) => Math.floor(c / copies)),
    base: Int32Array.from({ length: filters }, (_, c) => (c % copies) * blockSize),
  })
  if (packing === 'patches') {
    if (positions > slots) throw new Error(`plan: ${positions} conv positions do not fit in ${slots} slots`)
    const copies = Math.floor(slots / positions)
    return {
      packing,
      input: blockLayout(taps * positions, taps, copies, positions, (i) => Math.floor(i / positions), (i) => i % positions),
      grid: channelGrid(copies, positions, outW),
      copies,
      filters,
      taps,
      positions,
      inputIndex: (t, p) => t * positions + p,
    }
  }
  if (g.stride !== 1 || g.padding !== 0 || (g.channels ?? 1) !== 1) throw new Error("plan: 'image' packing supports one channel, stride 1, no padding")
  const area = g.inputHeight * g.inputWidth
  const copies = Math.min(Math.floor(slots / area), filters)
  if (copies < 1) throw new Error(`plan: a ${g.inputHeight}x${g.inputWidth} image does not fit in ${slots} slots`)
  const anchor = (p: number) => Math.floor(p / outW) * g.inputWidth + (p % outW)
  return {
    packing,
    input: blockLayout(copies * area, copies, copies, area, (i) => Math.floor(i / area), (i) => i % area),
    grid: channelGrid(copies, area, g.inputWidth),
    copies,
    filters,
    taps,
    positions,
    inputIndex: (t, p, c) => (Math.floor(c / group) % copies) * area + anchor(p) + Math.floor(t / g.kernel) * g.inputWidth + (t % g.kernel),
  }
}

/**
 * `elements` values in `blocks` blocks of `size` slots, `copies` blocks per
 * ciphertext: element i sits in block `block(i)` at `offset(i)` within it.
 */
function blockLayout(elements: number, blocks: number, copies: number, size: number, block: (i: number) => number, offset: (i: number) => number): Layout {
  const all = Array.from({ length: elements }, (_, i) => i)
  return layoutOf(
    Math.ceil(blocks / copies),
    all.map((i) => Math.floor(block(i) / copies)),
    all.map((i) => (block(i) % copies) * size + offset(i)),
  )
}

/**
 * A run whose output lives on a grid (or the split of one a staggered pool
 * gathers): every (input element, output element) pair the run's map links
 * becomes a term (input ct, output ct, rotation); on a grid the rotation
 * depends on channels and tap only, so terms are few. Offsets are cyclic: the
 * origin is put after the largest gap between them, and the output is left
 * where the rotations put it (shifted by the origin).
 */
function gridStage(run: LinearRun, op: LinearOp, input: Layout, logical: Layout, slots: number, keyCost: number): LinearStagePlan {
  const cts = input.ciphertexts
  const outCts = logical.ciphertexts
  // (input ct, output ct, offset) of every weight, deduplicated: millions of them for a CIFAR-10
  // conv, where a Set cost ~0.2 s of the browser's key generation and a bitmap a few ms
  const seen = new DistinctBelow(cts * outCts * slots)
  for (let o = 0; o < op.outputs; o++) {
    const b = logical.ct[o]
    const sOut = logical.slot[o]
    op.row(o, (i) => seen.add((input.ct[i] * outCts + b) * slots + mod(input.slot[i] - sOut, slots)))
  }
  const triples = seen.values()
  const { unit, origin, cyclic, span, n1, giant, babies, terms } = chooseOffsets(triples, slots, cts, outCts, keyCost)
  const output = layoutOf(outCts, logical.ct, Array.from(logical.slot, (s) => mod(s + origin * unit, slots)))
  return { kind: 'linear', layers: run.layers, unit, origin, cyclic, span, n1, giant, babies, input, output, shape: run.output, terms }
}

/** Distinct integers in [0, size), in first-seen order: a bitmap up to 2^28 of them, a Set beyond. */
class DistinctBelow {
  private readonly bits?: Uint8Array
  private readonly set?: Set<number>
  private readonly list: number[] = []
  constructor(size: number) {
    if (size <= 2 ** 28) this.bits = new Uint8Array(Math.ceil(size / 8))
    else this.set = new Set()
  }
  add(x: number): void {
    if (this.bits) {
      const byte = x >>> 3
      const bit = 1 << (x & 7)
      if (this.bits[byte] & bit) return
      this.bits[byte] |= bit
    } else {
      if (this.set!.has(x)) return
      this.set!.add(x)
    }
    this.list.push(x)
  }
  values(): number[] {
    return this.list
  }
}

/**
 * Index k (0..span) of the rotation that moves input slot sIn onto output
 * slot sOut, r = sIn - sOut mod slots, in the stage's representation.
 */
export function offsetIndex(stage: Pick<LinearStagePlan, 'unit' | 'origin' | 'cyclic'>, r: number, slots: number): number {
  const signed = stage.cyclic ? r : r > slots / 2 ? r - slots : r
  if (signed % stage.unit) throw new Error(`plan: offset ${r} is not a multiple of the stage's unit ${stage.unit}`)
  const k = signed / stage.unit - stage.origin
  return stage.cyclic ? mod(k, slots / stage.unit) : k
}

/**
 * Offsets r (mod slots) as k * unit, two ways, keeping the cheaper plan:
 * cyclic (unit divides the slot count; the origin after the widest gap, so
 * block differences wrap around a full ciphertext), or signed (r in
 * (-slots/2, slots/2], unit their gcd, origin the smallest: patches whose
 * block size does not divide the slot count).
 */
function chooseOffsets(triples: number[], slots: number, inputs: number, outputs: number, keyCost: number) {
  const rs = [...new Set(triples.map((t) => t % slots))]
  const options: Array<{ unit: number; origin: number; cyclic: boolean }> = []
  {
    let unit = slots
    for (const r of rs) unit = gcd(unit, r)
    const M = slots / unit
    const ks = rs.map((r) => r / unit).sort((a, b) => a - b)
    let origin = ks[0]
    let widest = ks[0] + M - ks[ks.length - 1]
    for (let i = 1; i < ks.length; i++) {
      if (ks[i] - ks[i - 1] > widest) {
        widest = ks[i] - ks[i - 1]
        origin = ks[i]
      }
    }
    options.push({ unit, origin, cyclic: true })
  }
  {
    const signed = rs.map((r) => (r > slots / 2 ? r - slots : r))
    let unit = 0
    for (const r of signed) unit = gcd(unit, Math.abs(r))
    unit ||= 1
    options.push({ unit, origin: Math.min(...signed) / unit, cyclic: false })
  }
  let best: (ReturnType<typeof bsgs> & { unit: number; origin: number; cyclic: boolean; span: number; terms: LinearStagePlan['terms']; cost: number }) | undefined
  for (const o of options) {
    const terms: LinearStagePlan['terms'] = []
    for (const t of triples) {
      const r = t % slots
      const pair = (t - r) / slots
      terms.push({ input: Math.floor(pair / outputs), output: pair % outputs, k: offsetIndex(o, r, slots) })
    }
    terms.sort((x, y) => x.output - y.output || x.k - y.k || x.input - y.input)
    const split = bsgs(terms.map((t) => t.k), inputs, outputs, keyCost)
    const cost = bsgsCost(split, inputs, outputs, keyCost)
    if (!best || cost < best.cost) best = { ...o, ...split, span: Math.max(...terms.map((t) => t.k)), terms, cost }
  }
  return best!
}

/**
 * Where the dense stage before a bilinear layer puts its outputs: product k of
 * logit i takes its first factor (dense output i + units*k) to slot
 * k * stride + i and its second (output inputs/2 + i + units*k) half a period
 * further, stride and K rounded up to powers of two.
 */
function bilinearLayout(layer: { units: number }, inputs: number, slots: number) {
  const units = layer.units
  const products = inputs / 2 / units
  const stride = nextPow2(units)
  const period = 2 * stride * nextPow2(products)
  if (period > slots) throw new Error(`plan: a bilinear layer's ${inputs} factors need ${period} slots, more than ${slots}`)
  const slotOf = (j: number) => {
    const r = j % (inputs / 2)
    return (j >= inputs / 2 ? period / 2 : 0) + Math.floor(r / units) * stride + (r % units)
  }
  return { units, stride, period, slotOf }
}

const nextPow2 = (n: number) => {
  let p = 1
  while (p < n) p *= 2
  return p
}

/**
 * Rotate-and-add levels that sum `copies` copies spaced `stride` apart, up to
 * `radix` per level (one key per level).
 */
function foldLevels(stride: number, copies: number, radix: number): Array<{ step: number; count: number }> {
  const levels: Array<{ step: number; count: number }> = []
  while (copies > 1) {
    let r = Math.min(radix, copies)
    // a short tail (say 2 copies left after two levels of 16) joins this level: a few more cheap
    // rotations at the last level instead of one more Galois key
    if (copies > r && copies / r < radix && levels.length > 0) r = copies
    levels.push({ step: stride, count: r - 1 })
    stride *= r
    copies = Math.ceil(copies / r)
  }
  return levels
}

/** `layout`: where a following bilinear layer wants each output (default: output o at slot o of the period). */
function denseStage(run: LinearRun, op: LinearOp, input: Layout, slots: number, radix: number, keyCost: number, layout?: { period: number; slotOf: (o: number) => number }): LinearStagePlan {
  const units = op.outputs
  const period = layout?.period ?? nextPow2(units)
  if (period > slots) throw new Error(`plan: a dense layer has more units (${units}) than slots`)
  const terms: LinearStagePlan['terms'] = []
  for (let a = 0; a < input.ciphertexts; a++) for (let k = 0; k < period; k++) terms.push({ input: a, output: 0, k })
  const { n1, giant, babies } = bsgs(
    Array.from({ length: period }, (_, k) => k),
    input.ciphertexts,
    1,
    keyCost,
  )
  const levels = foldLevels(period, slots / period, radix)
  return {
    kind: 'linear',
    layers: run.layers,
    unit: 1,
    origin: 0,
    cyclic: false,
    span: period - 1,
    n1,
    giant,
    babies,
    input,
    output: layoutOf(1, Array(units).fill(0), Array.from({ length: units }, (_, o) => layout?.slotOf(o) ?? o)),
    shape: run.output,
    fold: { period, levels },
    terms,
  }
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
