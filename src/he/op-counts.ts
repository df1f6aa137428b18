/**
 * The SEAL operations a plan performs on one image, stage by stage and level
 * by level, read from the plan alone (no weights, no SEAL), and the time they
 * imply at given unit prices: the floor under a stage's measured time, the
 * rest being copies, allocations and the host's overheads.
 *
 * The counts follow the evaluator's steps with the whole image on one worker
 * (evaluator.ts computeShare and combine, ciphertext-steps.ts), with every
 * structural product present (a diagonal whose weights are all exactly zero
 * is skipped by the evaluator and would make it one product cheaper). A
 * stage's level is its index: every stage consumes one level. A linear
 * stage's fold and bias act after its rescale, one level lower; a gather is
 * counted with the stage it opens, as the evaluator times it.
 * Pure arithmetic: no SEAL, no DOM, no Node.
 */
import type { EvaluationPlan, LinearStagePlan } from './evaluation-plan'

/** Count per level (key: level, 0 = the top of the modulus chain). */
export type ByLevel = Record<number, number>

export interface OpCounts {
  rotations: ByLevel
  plainProducts: ByLevel
  /** ciphertext times itself (square activations) */
  squares: ByLevel
  /** ciphertext times another ciphertext (the bilinear read-out) */
  products: ByLevel
  relinearisations: ByLevel
  rescales: ByLevel
  /** ciphertext + ciphertext */
  additions: ByLevel
  /** ciphertext + plaintext (biases) */
  plainAdditions: ByLevel
}

export const OP_KINDS = ['rotations', 'plainProducts', 'squares', 'products', 'relinearisations', 'rescales', 'additions', 'plainAdditions'] as const satisfies ReadonlyArray<keyof OpCounts>
export type OpKind = (typeof OP_KINDS)[number]

/** What one operation costs at one level, in ms (bench: measured on the machine at the model's parameters). */
export interface UnitPrices {
  level: number
  rotate: number
  plainProduct: number
  square: number
  product: number
  relinearise: number
  rescale: number
  add: number
  addPlain: number
}

const PRICE_OF: Record<OpKind, keyof Omit<UnitPrices, 'level'>> = {
  rotations: 'rotate',
  plainProducts: 'plainProduct',
  squares: 'square',
  products: 'product',
  relinearisations: 'relinearise',
  rescales: 'rescale',
  additions: 'add',
  plainAdditions: 'addPlain',
}

export function emptyCounts(): OpCounts {
  return { rotations: {}, plainProducts: {}, squares: {}, products: {}, relinearisations: {}, rescales: {}, additions: {}, plainAdditions: {} }
}

/** Adds `n` operations of `kind` at `level` (nothing for n = 0). */
export function count(c: OpCounts, kind: OpKind, level: number, n = 1): void {
  if (n) c[kind][level] = (c[kind][level] ?? 0) + n
}

/** Every operation's count summed over levels. */
export function totals(c: OpCounts): Record<OpKind, number> {
  return Object.fromEntries(OP_KINDS.map((k) => [k, Object.values(c[k]).reduce((a, b) => a + b, 0)])) as Record<OpKind, number>
}

/** The operations of each stage of `plan` on one image, in stage order. */
export function planOpCounts(plan: EvaluationPlan): OpCounts[] {
  return plan.stages.map((stage, index) => {
    const c = emptyCounts()
    if (stage.kind === 'linear') linearCounts(c, stage, index)
    else {
      // an activation or a product acts on each output of the linear stage before it
      const before = plan.stages[index - 1]
      if (before?.kind !== 'linear') throw new Error(`planOpCounts: stage ${index} (${stage.kind}) does not follow a linear stage`)
      const after = index + 1
      for (let i = 0; i < before.output.ciphertexts; i++) {
        if (stage.kind === 'square') count(c, 'squares', index)
        else {
          count(c, 'rotations', index, stage.align.length)
          count(c, 'products', index)
        }
        count(c, 'relinearisations', index)
        count(c, 'rescales', index)
        if (stage.kind === 'product') foldCounts(c, stage.fold.levels, after)
      }
    }
    return c
  })
}

function linearCounts(c: OpCounts, stage: LinearStagePlan, level: number): void {
  const { n1 } = stage
  if (stage.gather) {
    for (const paths of stage.gather.paths) {
      for (const path of paths) count(c, 'rotations', level, path.length)
      count(c, 'additions', level, paths.length - 1)
    }
  }
  // baby rotations: each input makes the chain nodes its products read, and the nodes they are made from
  const nodeOf = new Map(stage.babies.j.map((j, n) => [j, n]))
  const wanted = new Map<number, Set<number>>()
  const perOutput = new Map<number, { products: number; topGiant: number }>()
  for (const t of stage.terms) {
    const g = Math.floor(t.k / n1)
    const nodes = wanted.get(t.input) ?? new Set<number>()
    wanted.set(t.input, nodes)
    for (let n = nodeOf.get(t.k - g * n1)!; n > 0 && !nodes.has(n); n = stage.babies.from[n]) nodes.add(n)
    const o = perOutput.get(t.output) ?? { products: 0, topGiant: 0 }
    o.products++
    o.topGiant = Math.max(o.topGiant, g)
    perOutput.set(t.output, o)
  }
  for (const nodes of wanted.values()) count(c, 'rotations', level, nodes.size)
  for (const o of perOutput.values()) {
    count(c, 'plainProducts', level, o.products)
    count(c, 'additions', level, o.products - 1)
    // Horner: one giant rotation per giant step below the output's highest
    count(c, 'rotations', level, o.topGiant)
    count(c, 'rescales', level)
    if (stage.fold) foldCounts(c, stage.fold.levels, level + 1)
    count(c, 'plainAdditions', level + 1)
  }
}

function foldCounts(c: OpCounts, levels: ReadonlyArray<{ count: number }>, level: number): void {
  for (const l of levels) {
    count(c, 'rotations', level, l.count)
    count(c, 'additions', level, l.count)
  }
}

/** The time `counts` take at `prices` (one entry per level the counts use), in ms. */
export function floorMs(counts: OpCounts, prices: readonly UnitPrices[]): number {
  let ms = 0
  for (const kind of OP_KINDS) {
    for (const [level, n] of Object.entries(counts[kind])) {
      const p = prices.find((x) => x.level === Number(level))
      if (!p) throw new Error(`floorMs: no unit prices for level ${level}`)
      ms += n * p[PRICE_OF[kind]]
    }
  }
  return ms
}
