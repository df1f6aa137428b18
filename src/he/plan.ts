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
import { convShape, type ConvGeometry } from '../model/geometry'
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
  /** offsets k - kMin = g * n1 + j: j is a baby step, g a giant step */
  n1: number
  giant: number
  /** baby rotations to compute per input: 1 + the largest j any term uses */
  babies: number
  input: Layout
  output: Layout
  /** dense only: outputs repeat every `period` slots; the fold sums the copies level by level */
  fold?: { period: number; levels: Array<{ step: number; count: number }> }
  /** first-layer packing (conv stages only): maps (tap, position, channel) to input elements */
  conv?: ConvPacking
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
  /** the client's ciphertext layout (see ConvPacking) */
  input: Layout & { positions: number; taps: number; packing: 'patches' | 'image'; copies: number }
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
  const first = model.layers[0] as Extract<LayerGeometry, { type: 'conv2d' }>
  const conv = convPacking(first.packing ?? 'patches', geometry, first.filters, slots)
  const input = { ...conv.input, positions, taps, packing: conv.packing, copies: conv.copies }

  const stages: StagePlan[] = []
  let current: Layout = input
  let depth = 0
  model.layers.forEach((layer, index) => {
    if (layer.type === 'square') {
      stages.push({ kind: 'square', layer: index })
      depth++
      return
    }
    if (layer.type === 'conv2d') {
      if (index !== 0) throw new Error('plan: conv2d is supported as the first layer only')
      const stage = convStage(index, conv, slots)
      stages.push(stage)
      current = stage.output
      depth++
      return
    }
    if (layer.type === 'dense') {
      const units = layer.units
      const stage = denseStage(index, current, units, slots, foldRadix)
      stages.push(stage)
      current = stage.output
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
 * How the client packs the first layer's input and where each channel lands.
 * - 'patches': the client sends im2col patches tap-major (tap t, position p at
 *   block t mod B, slot offset p); the conv is a sum over taps, i.e. over
 *   rotations by multiples of P. Fewest rotations; needs taps * P <= slots.
 * - 'image': the client sends the image, repeated once per channel block; the
 *   server shifts it by ky * W + kx for each tap. Any stride-1 geometry with
 *   H * W <= slots; every output position of a channel sits where its window
 *   starts, in that channel's copy of the image.
 */
export interface ConvPacking {
  packing: 'patches' | 'image'
  input: Layout
  output: Layout
  /** blocks per ciphertext (patches: of P slots; image: copies of the image) */
  copies: number
  filters: number
  taps: number
  positions: number
  /** logical input element read by tap t of position p for channel c */
  inputIndex(t: number, p: number, c: number): number
}

export function convPacking(packing: 'patches' | 'image', g: ConvGeometry, filters: number, slots: number): ConvPacking {
  const { positions, taps, outW } = convShape(g)
  // output element p * filters + c (the plaintext model's flatten order) lives in channel c's block
  const channel = (i: number) => i % filters
  const position = (i: number) => Math.floor(i / filters)
  if (packing === 'patches') {
    const copies = Math.floor(slots / positions)
    return {
      packing,
      input: blockLayout(taps * positions, taps, copies, positions, (i) => Math.floor(i / positions), (i) => i % positions),
      output: blockLayout(positions * filters, filters, copies, positions, channel, position),
      copies,
      filters,
      taps,
      positions,
      inputIndex: (t, p) => t * positions + p,
    }
  }
  if (g.stride !== 1 || g.padding !== 0) throw new Error("plan: 'image' packing supports stride 1 without padding")
  const area = g.inputHeight * g.inputWidth
  const copies = Math.min(Math.floor(slots / area), filters)
  if (copies < 1) throw new Error(`plan: a ${g.inputHeight}x${g.inputWidth} image does not fit in ${slots} slots`)
  const anchor = (p: number) => Math.floor(p / outW) * g.inputWidth + (p % outW)
  return {
    packing,
    input: blockLayout(copies * area, copies, copies, area, (i) => Math.floor(i / area), (i) => i % area),
    output: blockLayout(positions * filters, filters, copies, area, channel, (i) => anchor(position(i))),
    copies,
    filters,
    taps,
    positions,
    inputIndex: (t, p, c) => (c % copies) * area + anchor(p) + Math.floor(t / g.kernel) * g.inputWidth + (t % g.kernel),
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
 * conv as generalised diagonals: every (tap, channel) pair moves data by one
 * offset, the same for all positions; BSGS over the distinct offsets. The
 * output is left where BSGS puts it: shifted by kMin * unit.
 */
function convStage(layer: number, conv: ConvPacking, slots: number): LinearStagePlan {
  const { input, output, taps, filters } = conv
  const offsets: Array<{ a: number; b: number; r: number }> = []
  for (let t = 0; t < taps; t++) {
    for (let c = 0; c < filters; c++) {
      const inIndex = conv.inputIndex(t, 0, c)
      const outIndex = c // position 0 of channel c
      offsets.push({ a: input.ct[inIndex], b: output.ct[outIndex], r: input.slot[inIndex] - output.slot[outIndex] })
    }
  }
  const unit = offsets.reduce((g, o) => gcd(g, Math.abs(o.r)), 0) || 1
  const ks = offsets.map((o) => o.r / unit)
  const kMin = Math.min(...ks)
  const kMax = Math.max(...ks)
  const termKeys = new Set<string>()
  const terms: LinearStagePlan['terms'] = []
  offsets.forEach((o, i) => {
    const key = `${o.a},${o.b},${ks[i]}`
    if (!termKeys.has(key)) {
      termKeys.add(key)
      terms.push({ input: o.a, output: o.b, k: ks[i] })
    }
  })
  const shifted = layoutOf(
    output.ciphertexts,
    Array.from(output.ct),
    Array.from(output.slot, (s) => mod(s + kMin * unit, slots)),
  )
  const { n1, giant, babies } = bsgs(
    terms.map((t) => t.k - kMin),
    input.ciphertexts,
    output.ciphertexts,
  )
  return { kind: 'linear', layer, unit, kMin, kMax, n1, giant, babies, input, output: shifted, conv, terms }
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))

function denseStage(layer: number, input: Layout, units: number, slots: number, radix: number): LinearStagePlan {
  let period = 1
  while (period < units) period *= 2
  if (period > slots) throw new Error(`plan: dense layer ${layer} has more units than slots`)
  const terms: LinearStagePlan['terms'] = []
  for (let a = 0; a < input.ciphertexts; a++) for (let k = 0; k < period; k++) terms.push({ input: a, output: 0, k })
  const { n1, giant, babies } = bsgs(
    Array.from({ length: period }, (_, k) => k),
    input.ciphertexts,
    1,
  )
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
    babies,
    input,
    output: layoutOf(1, Array(units).fill(0), Array.from({ length: units }, (_, o) => o)),
    fold: { period, levels },
    terms,
  }
}

/**
 * Splits offsets k >= 0 into giant * n1 + baby, choosing n1 to minimise
 * rotations: baby rotations (up to the largest baby used) are paid once per
 * input ciphertext, giant rotations (Horner) once per output ciphertext.
 */
export function bsgs(ks: number[], inputs: number, outputs: number): { n1: number; giant: number; babies: number } {
  const max = Math.max(...ks)
  let best = { n1: 1, giant: max + 1, babies: 1, cost: Infinity }
  for (let n1 = 1; n1 <= max + 1; n1++) {
    const babies = Math.max(...ks.map((k) => k % n1)) + 1
    const giant = Math.floor(max / n1) + 1
    const cost = inputs * (babies - 1) + outputs * (giant - 1)
    if (cost < best.cost) best = { n1, giant, babies, cost }
  }
  return { n1: best.n1, giant: best.giant, babies: best.babies }
}

function rotationSteps(stages: StagePlan[], slots: number): number[] {
  const steps = new Set<number>()
  for (const s of stages) {
    if (s.kind !== 'linear') continue
    if (s.babies > 1) steps.add(mod(s.unit, slots))
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
