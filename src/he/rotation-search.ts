/**
 * The search for rotations and Galois keys behind a plan (plan.ts): how a
 * linear stage's offsets split into baby and giant steps (bsgs), the chain of
 * rotations that makes the babies (babyChain), how a product stage's alignment
 * reuses keys (alignPath), and SEAL's Galois element for a step. Every choice
 * weighs rotations per image against Galois keys per session (keyCost).
 * Pure arithmetic: no SEAL, no DOM, no Node.
 */

/**
 * Baby rotations of one input ciphertext: node 0 is the input itself, node i
 * is node `from` rotated by (j_i - j_from) * unit. `j` are offsets in units.
 */
export interface BabyChain {
  j: number[]
  from: number[]
}

/**
 * Baby steps as a chain of rotations: each needed offset j is reached from an
 * earlier node by one rotation of `step` (one key each), through as few
 * intermediate nodes as the greedy walk needs. Tries one key, and two keys
 * with the second taken from the gaps and values of j; keeps the shortest.
 */
export function babyChain(needed: number[]): BabyChain {
  const js = [...new Set(needed)].filter((j) => j > 0).sort((a, b) => a - b)
  const build = (second: number | undefined): BabyChain => {
    const chain: BabyChain = { j: [0], from: [-1] }
    const index = new Map([[0, 0]])
    const add = (j: number, from: number) => {
      index.set(j, chain.j.length)
      chain.j.push(j)
      chain.from.push(from)
    }
    for (const j of js) {
      if (index.has(j)) continue
      if (second !== undefined && index.has(j - second)) {
        add(j, index.get(j - second)!)
        continue
      }
      if (index.has(j - 1)) {
        add(j, index.get(j - 1)!)
        continue
      }
      // walk from the largest node so far (nodes are made in ascending order): big steps first, then unit steps
      let at = chain.j[chain.j.length - 1]
      while (second !== undefined && at + second <= j) {
        const next = at + second
        if (!index.has(next)) add(next, index.get(at)!)
        at = next
      }
      while (at < j) {
        const next = at + 1
        if (!index.has(next)) add(next, index.get(at)!)
        at = next
      }
    }
    return chain
  }
  let best = build(undefined)
  // candidates for the second key: the offsets themselves first (on a grid the row step is one), then the gaps
  const values = js.filter((j) => j > 1).slice(0, 24)
  const gaps = js.map((j, i) => j - (js[i - 1] ?? 0)).filter((g) => g > 1).sort((a, b) => a - b).slice(0, 24)
  for (const c of new Set([...values, ...gaps])) {
    const chain = build(c)
    if (chain.j.length < best.j.length) best = chain
  }
  return best
}

/** The distinct rotation deltas (in units) a chain uses: one Galois key each. */
export function chainSteps(chain: BabyChain): number[] {
  const steps = new Set<number>()
  for (let i = 1; i < chain.j.length; i++) steps.add(chain.j[i] - chain.j[chain.from[i]])
  return [...steps]
}

/**
 * What one more Galois key is worth, in rotations: a key is uploaded once per
 * session and grows with the ring and the modulus chain, a rotation costs time
 * on every image; a few rotations per key keeps plans on few keys.
 */
export const KEY_COST = 4

/**
 * At N = 16384 a key of a deep chain is an order of magnitude larger than one
 * at 8192, while a rotation costs only a few times more: a key is worth four
 * times as many rotations (on the CIFAR-10 net, 16 drops the 1024-or-4 key for
 * nine rotations at the last levels).
 */
export const keyCost = (polyModulusDegree: number) => (polyModulusDegree >= 16384 ? 4 * KEY_COST : KEY_COST)

/**
 * Splits offsets k >= 0 into g * n1 + j, choosing n1 to minimise rotations
 * plus KEY_COST per key: the baby chain is paid once per input ciphertext,
 * giant rotations (Horner) once per output ciphertext.
 */
export function bsgs(ks: number[], inputs: number, outputs: number, keyCost = KEY_COST): { n1: number; giant: number; babies: BabyChain } {
  const distinct = [...new Set(ks)]
  const max = Math.max(...distinct)
  let best: { n1: number; giant: number; babies: BabyChain; cost: number } | undefined
  // every n1 up to 256, beyond that only k + 1 for the offsets k used (bounds the search on wide spans)
  const n1s = new Set<number>()
  for (let n1 = 1; n1 <= Math.min(max + 1, 256); n1++) n1s.add(n1)
  for (const k of distinct) if (k + 1 > 256) n1s.add(k + 1)
  // seen[r] === n1: residue r already met for this n1 (a stamp per n1: nothing to clear, no Set per n1)
  const seen = new Int32Array(max + 2)
  for (const n1 of [...n1s].sort((a, b) => a - b)) {
    const giant = Math.floor(max / n1) + 1
    const residues: number[] = []
    for (const k of distinct) {
      const r = k % n1
      if (seen[r] === n1) continue
      seen[r] = n1
      residues.push(r)
    }
    // a chain has a node per nonzero residue and at least one key: skip n1 that cannot win
    const nonzero = residues.length - (seen[0] === n1 ? 1 : 0)
    const bound = outputs * (giant - 1) + inputs * nonzero + keyCost * ((nonzero > 0 ? 1 : 0) + (giant > 1 ? 1 : 0))
    if (best && bound >= best.cost) continue
    const babies = babyChain(residues)
    const cost = bsgsCost({ giant, babies }, inputs, outputs, keyCost)
    if (!best || cost < best.cost) best = { n1, giant, babies, cost }
  }
  return { n1: best!.n1, giant: best!.giant, babies: best!.babies }
}

/** Galois keys a split needs: one per baby-chain step, one for the giant step. */
const keyCount = (chain: BabyChain, giant: number) => chainSteps(chain).length + (giant > 1 ? 1 : 0)
/** What a split costs per image, in rotations, each key counted as keyCost rotations. */
export const bsgsCost = (b: { giant: number; babies: BabyChain }, inputs: number, outputs: number, keyCost: number) =>
  inputs * (b.babies.j.length - 1) + outputs * (b.giant - 1) + keyCost * keyCount(b.babies, b.giant)

/**
 * The rotations that make a product stage's alignment by `half`: the fewest
 * rotations by steps the plan has keys for anyway (a K = 4 read-out: four by
 * the fold's 16 instead of one by 64), unless one more key is cheaper than
 * the extra rotations (keyCost rotations per key, as in bsgs). These
 * rotations run at the second-to-last level, the cheapest of the network.
 */
export function alignPath(half: number, steps: readonly number[], keyCost: number): number[] {
  // fewest[v]: fewest rotations by `steps` that add up to v (coin change; half <= slots / 2)
  const fewest = new Int32Array(half + 1).fill(-1)
  const last = new Int32Array(half + 1)
  fewest[0] = 0
  for (let v = 1; v <= half; v++) {
    for (const s of steps) {
      if (s > v || fewest[v - s] < 0) continue
      if (fewest[v] < 0 || fewest[v - s] + 1 < fewest[v]) {
        fewest[v] = fewest[v - s] + 1
        last[v] = s
      }
    }
  }
  if (fewest[half] < 0 || fewest[half] - 1 > keyCost) return [half]
  const path: number[] = []
  for (let v = half; v > 0; v -= last[v]) path.push(last[v])
  return path
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
