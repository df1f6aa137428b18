/**
 * Baby-step rotations shared among the parts of a split linear stage.
 *
 * A linear stage multiplies rotated copies of its inputs (the baby steps) by
 * plaintext diagonals. The copies are made along a chain (rotation-search.ts):
 * node n is node from[n] rotated by one key, and node 0 is the input itself.
 * When an image is split across workers (stage-share.ts) each part reads
 * nearly every node, so each part used to rotate them all: the one piece of
 * a split stage's work that every part repeats. Here each part rotates only
 * some branches of the chain (and the nodes they hang from), and the parts
 * swap the copies they lack as bytes: saving and loading a ciphertext costs a
 * few percent of a rotation. A chain that does not branch (one straight run
 * of steps) cannot be divided without some part rotating all of it: such a
 * stage keeps the old rule, each part rotating what it reads.
 *
 * Every part derives the same work from the same plan and reads, so the parts
 * agree on who sends what without asking. Isomorphic and pure.
 */
import type { LinearStagePlan } from './evaluation-plan'
import type { BabyChain } from './rotation-search'
import { stageShare } from './stage-share'

/** One rotated copy: input ciphertext `input`, chain node `node` (> 0). */
export interface BabyRef {
  input: number
  node: number
}

/** What one part of a split stage does with the baby steps. */
export interface BabyPart {
  /** per input, the nodes this part rotates, in increasing order (a node comes after the one it is made from) */
  compute: number[][]
  /** the nodes this part's share reads but does not rotate, in (input, node) order: a follower gets them from the lead, the lead from the followers */
  needs: BabyRef[]
  /** a follower's nodes that another part needs and gets from this one's copy, in (input, node) order (sent to the lead); none for the lead */
  up: BabyRef[]
}

export interface BabyWork {
  parts: BabyPart[]
  /** whether parts swap copies (false: each rotates every node it reads) */
  shared: boolean
  /** the part whose copy of a node is sent: the lowest part that rotates it */
  supplier(ref: BabyRef): number
}

/** `nodes` and every node they are made from (node 0, the input, excluded). */
function closure(chain: BabyChain, nodes: Iterable<number>): Set<number> {
  const out = new Set<number>()
  for (const start of nodes) for (let n = start; n > 0 && !out.has(n); n = chain.from[n]) out.add(n)
  return out
}

const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b)
const byRef = (x: BabyRef, y: BabyRef) => x.input - y.input || x.node - y.node

/** A branch of one input's chain: a node and the nodes made from it, as far as any part needs them. */
interface Branch {
  input: number
  root: number
  nodes: number[]
}

/**
 * Splits the nodes that the parts read (per input, all parts' reads) into branches no larger
 * than an even share where the chain allows: a branch larger than that gives way to the
 * branches hanging from its root, and its root is rotated by every part that owns one of those.
 */
function branches(chain: BabyChain, needed: Set<number>[], target: number): Branch[] {
  const out: Branch[] = []
  needed.forEach((nodes, input) => {
    const children = new Map<number, number[]>()
    for (const n of sorted(nodes)) {
      const p = chain.from[n]
      children.set(p, [...(children.get(p) ?? []), n])
    }
    const below = (root: number): number[] => [root, ...(children.get(root) ?? []).flatMap(below)]
    const open = [...(children.get(0) ?? [])]
    while (open.length > 0) {
      const root = open.shift()!
      const nodes = below(root)
      const kids = children.get(root) ?? []
      if (nodes.length > target && kids.length > 0) open.push(...kids)
      else out.push({ input, root, nodes })
    }
  })
  return out
}

/**
 * The baby-step work of each of `reads.length` parts, where `reads[q][a]` holds the nodes of
 * input a that part q's products read. Branches go, largest first, to the part whose rotations
 * then stay fewest; the swap is used only when it lowers the most rotations any part makes.
 */
export function babyWork(chain: BabyChain, reads: Array<Array<Set<number>>>): BabyWork {
  const parts = reads.length
  const inputs = Math.max(0, ...reads.map((r) => r.length))
  const own = reads.map((r) => Array.from({ length: inputs }, (_, a) => closure(chain, r[a] ?? [])))
  const alone: BabyWork = {
    parts: own.map((perInput) => ({ compute: perInput.map(sorted), needs: [], up: [] })),
    shared: false,
    supplier: () => 0,
  }
  if (parts < 2) return alone
  const cost = (perInput: Set<number>[]) => perInput.reduce((sum, s) => sum + s.size, 0)
  const needed = Array.from({ length: inputs }, (_, a) => closure(chain, reads.flatMap((r) => [...(r[a] ?? [])])))
  const total = cost(needed)
  const assigned: Set<number>[][] = reads.map(() => Array.from({ length: inputs }, () => new Set<number>()))
  for (const b of branches(chain, needed, Math.ceil(total / parts)).sort((x, y) => y.nodes.length - x.nodes.length || x.input - y.input || x.root - y.root)) {
    let best = 0
    let bestCost = Infinity
    for (let q = 0; q < parts; q++) {
      const with_ = closure(chain, [...assigned[q][b.input], ...b.nodes]).size - closure(chain, assigned[q][b.input]).size
      const c = cost(assigned[q].map((s) => closure(chain, s))) + with_
      if (c < bestCost) [best, bestCost] = [q, c]
    }
    for (const n of b.nodes) assigned[best][b.input].add(n)
  }
  const compute = assigned.map((perInput) => perInput.map((s) => closure(chain, s)))
  if (Math.max(...compute.map(cost)) >= Math.max(...own.map(cost))) return alone

  const supplier = (ref: BabyRef) => compute.findIndex((perInput) => perInput[ref.input].has(ref.node))
  const needs = reads.map((r, q) =>
    r.flatMap((nodes, input) => [...nodes].filter((node) => node > 0 && !compute[q][input].has(node)).map((node) => ({ input, node }))).sort(byRef),
  )
  const up = reads.map(() => [] as BabyRef[])
  const sent = new Set<string>()
  for (const ref of needs.flat().sort(byRef)) {
    const s = supplier(ref)
    const key = `${ref.input}:${ref.node}`
    if (s > 0 && !sent.has(key)) {
      sent.add(key)
      up[s].push(ref)
    }
  }
  return { parts: compute.map((perInput, q) => ({ compute: perInput.map(sorted), needs: needs[q], up: up[q] })), shared: true, supplier }
}

/**
 * reads[q][a]: the chain nodes (> 0) of input a that part q of `parts` multiplies in `stage`,
 * given its products per output and giant step (the encoded weights': no all-zero diagonal).
 */
export function babyReads(stage: LinearStagePlan, products: ReadonlyArray<ReadonlyArray<ReadonlyArray<{ input: number; baby: number }>>>, parts: number): Array<Array<Set<number>>> {
  const nodeOf = new Map(stage.babies.j.map((j, n) => [j, n]))
  return Array.from({ length: parts }, (_, q) => {
    const share = stageShare(stage, q, parts)
    const read = Array.from({ length: stage.input.ciphertexts }, () => new Set<number>())
    for (const b of share.outputs)
      for (let g = share.from; g < share.to; g++)
        for (const p of products[b][g]) {
          const n = nodeOf.get(p.baby)!
          if (n > 0) read[p.input].add(n)
        }
    return read
  })
}
