import { describe, expect, it } from 'vitest'
import { babyWork, type BabyWork } from './baby-exchange'
import type { BabyChain } from './rotation-search'

/** A chain laid out as a grid, as the plan makes for a 2-D kernel: a first row by step 1, then each column by step `rowStep`. */
function gridChain(columns: number, rows: number, rowStep = 16): BabyChain {
  const j: number[] = []
  const from: number[] = []
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < columns; c++) {
      j.push(r * rowStep + c)
      from.push(r === 0 ? c - 1 : (r - 1) * columns + c)
    }
  return { j, from }
}

/** A chain without branches: node n from node n - 1. */
const straightChain = (length: number): BabyChain => ({ j: Array.from({ length }, (_, n) => n), from: Array.from({ length }, (_, n) => n - 1) })

/** The nodes and every node they are made from, increasing (node 0 excluded). */
function closure(chain: BabyChain, nodes: Iterable<number>): number[] {
  const out = new Set<number>()
  for (const start of nodes) for (let n = start; n > 0; n = chain.from[n]) out.add(n)
  return [...out].sort((x, y) => x - y)
}

const all = (chain: BabyChain) => new Set(chain.j.map((_, n) => n).filter((n) => n > 0))
const rotations = (work: BabyWork, q: number) => work.parts[q].compute.reduce((sum, nodes) => sum + nodes.length, 0)

/** What every answer must hold: each part ends up with every node it reads, made or received once, along the chain. */
function expectConsistent(chain: BabyChain, reads: Array<Array<Set<number>>>, work: BabyWork): void {
  work.parts.forEach((part, q) => {
    for (const nodes of part.compute) {
      // increasing, and each node made from the input or from a node this part made before it
      expect(nodes).toEqual([...nodes].sort((x, y) => x - y))
      for (const n of nodes) expect(chain.from[n] === 0 || nodes.includes(chain.from[n])).toBe(true)
    }
    const made = (a: number, n: number) => part.compute[a]?.includes(n) ?? false
    reads[q].forEach((nodes, a) => {
      for (const n of nodes) expect(made(a, n) || part.needs.some((r) => r.input === a && r.node === n)).toBe(true)
    })
    for (const r of part.needs) {
      expect(made(r.input, r.node)).toBe(false)
      const s = work.supplier(r)
      expect(s).not.toBe(q)
      expect(work.parts[s].compute[r.input]).toContain(r.node)
      // a follower's copy reaches the lead first; the lead's own go out directly
      if (s > 0) expect(work.parts[s].up).toContainEqual(r)
    }
  })
  expect(work.parts[0].up).toEqual([])
}

describe('babyWork', () => {
  it('divides a grid of baby steps between two parts that both read all of it', () => {
    const chain = gridChain(7, 7)
    const reads = [[all(chain)], [all(chain)]]
    const work = babyWork(chain, reads)
    expectConsistent(chain, reads, work)
    expect(work.shared).toBe(true)
    // 48 rotations each before; now about half each, the nodes the branches hang from rotated twice
    expect(Math.max(rotations(work, 0), rotations(work, 1))).toBeLessThanOrEqual(28)
    expect(rotations(work, 0) + rotations(work, 1)).toBeLessThanOrEqual(48 + 6)
  })

  it('divides per input, and among three parts through the lead', () => {
    const chain = gridChain(4, 4)
    const reads = [0, 1, 2].map(() => [all(chain), all(chain)])
    const work = babyWork(chain, reads)
    expectConsistent(chain, reads, work)
    expect(work.shared).toBe(true)
    expect(Math.max(...[0, 1, 2].map((q) => rotations(work, q)))).toBeLessThan(2 * 15)
  })

  it('keeps each part to its own reads where the chain does not branch, or there is one part', () => {
    const chain = straightChain(10)
    const reads = [[new Set([3, 9])], [new Set([5])]]
    const work = babyWork(chain, reads)
    expect(work.shared).toBe(false)
    expect(work.parts.map((p) => p.compute)).toEqual([[[1, 2, 3, 4, 5, 6, 7, 8, 9]], [[1, 2, 3, 4, 5]]])
    expect(work.parts.every((p) => p.needs.length === 0 && p.up.length === 0)).toBe(true)
    const grid = gridChain(5, 5)
    expect(babyWork(grid, [[all(grid)]])).toMatchObject({ shared: false, parts: [{ compute: [[...all(grid)].sort((x, y) => x - y)], needs: [], up: [] }] })
  })

  it('holds its invariants on parts that read different nodes', () => {
    const chain = gridChain(6, 5, 28)
    let seed = 3
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    for (let trial = 0; trial < 20; trial++) {
      const parts = 2 + (trial % 3)
      const reads = Array.from({ length: parts }, () => [0, 1].map(() => new Set([...all(chain)].filter(() => random() < 0.6))))
      const work = babyWork(chain, reads)
      expectConsistent(chain, reads, work)
      // a swap is chosen only when it lowers the most rotations a part makes; else each part makes what it reads
      const own = reads.map((r) => r.map((nodes) => closure(chain, nodes)))
      const most = Math.max(...own.map((perInput) => perInput.reduce((sum, nodes) => sum + nodes.length, 0)))
      if (work.shared) expect(Math.max(...work.parts.map((_, q) => rotations(work, q)))).toBeLessThan(most)
      else expect(work.parts.map((p) => p.compute)).toEqual(own)
    }
  })
})
