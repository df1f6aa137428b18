/**
 * How one linear stage is laid out: the rotation offsets its weights need,
 * split baby-step/giant-step (rotation-search.ts), on a grid (gridStage) or
 * with the hybrid dense method and its fold (denseStage, foldLevels), and
 * where a bilinear read-out wants the dense outputs (bilinearLayout).
 */
import type { LinearOp, LinearRun } from './linear-ops'
import { offsetIndex, type LinearStagePlan } from './evaluation-plan'
import { layoutOf, type Layout } from './grid'
import { bsgs, bsgsCost } from './rotation-search'

const mod = (a: number, n: number) => ((a % n) + n) % n
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))

/**
 * A run whose output lives on a grid (or the split of one a staggered pool
 * gathers): every (input element, output element) pair the run's map links
 * becomes a term (input ct, output ct, rotation); on a grid the rotation
 * depends on channels and tap only, so terms are few. Offsets are cyclic: the
 * origin is put after the largest gap between them, and the output is left
 * where the rotations put it (shifted by the origin).
 */
export function gridStage(run: LinearRun, op: LinearOp, input: Layout, logical: Layout, slots: number, keyCost: number): LinearStagePlan {
  const cts = input.ciphertexts
  const outCts = logical.ciphertexts
  // (input ct, output ct, offset) of every weight, deduplicated: millions of them for a CIFAR-10
  // conv, which the browser derives before key generation; a bitmap dedups them far faster than a Set
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
export function bilinearLayout(layer: { units: number }, inputs: number, slots: number) {
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
export function foldLevels(stride: number, copies: number, radix: number): Array<{ step: number; count: number }> {
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
export function denseStage(run: LinearRun, op: LinearOp, input: Layout, slots: number, radix: number, keyCost: number, layout?: { period: number; slotOf: (o: number) => number }): LinearStagePlan {
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
