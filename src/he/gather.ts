/**
 * A staggered average pool (avgpool2d with `stagger`, geometry.ts poolOrigin)
 * after a grid stage, summed with rotations instead of read by the next stage.
 *
 * A plain pool's windows all start at even cells, so a ciphertext of pooled
 * values uses a quarter of its slots and a dense stage after it reads every
 * conv ciphertext: its products grow with their count. With staggered windows
 * the conv stage can write channel c = P*m + q (P = size^2) so that each cell
 * of every window of group m sits in its own ciphertext d, at the slot of the
 * window's start shifted by the cell's offset within the window. Summing the P
 * ciphertexts of a set, each rotated back by its offset, leaves every window's
 * sum at its start: groups of channels whose windows start on every cell of
 * the grid fill one ciphertext where a plain pool needed P. The rotations and
 * additions cost no level; the squares before them are exact zeros wherever no
 * activation sits (the conv stage writes nothing there), which is where a
 * window reaches past the edge.
 *
 * The plan checks what it built, slot by slot, and falls back to the plain
 * layout when the grid cannot hold the split (cells past the edge that would
 * land on another activation's slot). Why the pool is staggered at all:
 * docs/decisions/staggered-pool.md. Pure arithmetic: no SEAL, no DOM.
 */
import { poolOrigin, type Shape } from '../model/geometry'
import type { LayerGeometry } from '../model/manifest'
import type { LinearRun } from './linear-ops'
import { layoutOf, stridedGrid, type Grid, type Layout } from './grid'

export interface GatherPlan {
  /** manifest index of the staggered avgpool2d whose window sums this makes */
  layer: number
  /** gathered ciphertext t = sum over its members of the previous output ciphertext `ct` rotated left by `rotation` */
  members: Array<Array<{ ct: number; rotation: number }>>
  /** per member, the rotation steps (Galois keys) that make its rotation: set once every stage's keys are known */
  paths: number[][][]
}

const mod = (a: number, n: number) => ((a % n) + n) % n

/** The staggered pool opening run `next` (ending with a dense layer) that a gather could sum, if any. */
function gatherablePool(model: { layers: LayerGeometry[] }, next: LinearRun): { index: number; size: number } | undefined {
  const index = next.layers[0]
  const pool = model.layers[index]
  return pool.type === 'avgpool2d' && pool.stagger && next.dense ? { index, size: pool.size } : undefined
}

/** How many channels share a block when the run before `next` is split for a gather (size^2), else 1. */
export function staggerGroup(model: { layers: LayerGeometry[] }, next: LinearRun): number {
  const pool = gatherablePool(model, next)
  return pool ? pool.size * pool.size : 1
}

/**
 * The output layout of the run that reads `grid` (total stride `stride`) and
 * writes `next`'s input, and the gather after it, when `next` opens with a
 * staggered pool and ends with a dense layer; undefined otherwise, or when the
 * split does not fit (the plain layout is used then).
 */
export function staggeredSplit(
  model: { layers: LayerGeometry[] },
  next: LinearRun,
  grid: Grid,
  stride: number,
  slots: number,
): { layout: Layout; gathered: Layout; gather: GatherPlan } | undefined {
  const pool = gatherablePool(model, next)
  if (!pool) return undefined
  const { index, size } = pool
  const shape: Shape = next.input
  const P = size * size
  const groups = Math.ceil(shape.channels / P)
  let g: Grid
  try {
    // one grid "channel" per group of P channels: the group's cells, whichever ciphertext d they go to
    g = stridedGrid(grid, { ...shape, channels: groups }, stride)
  } catch {
    return undefined
  }
  const { height, width, channels } = shape
  const offset = (y: number, x: number) => y * g.rowStep + x * g.colStep
  // which cell of channel c's window (y, x) is: its offset d from the window's start
  const cell = (y: number, x: number, c: number) => {
    const o = poolOrigin(size, true, c)
    return mod(y - o.y, size) * size + mod(x - o.x, size)
  }
  const n = height * width * channels
  const ct = new Int32Array(n)
  const slot = new Int32Array(n)
  const taken = new Map<number, number>() // ct * slots + slot -> element
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        const i = (y * width + x) * channels + c
        const m = Math.floor(c / P)
        const d = cell(y, x, c)
        ct[i] = g.ct[m] * P + d
        slot[i] = mod(g.base[m] + offset(y, x), slots)
        const key = ct[i] * slots + slot[i]
        if (taken.has(key)) return undefined
        taken.set(key, i)
      }
  const sets = Math.max(...g.ct) + 1
  const members = Array.from({ length: sets }, (_, t) =>
    Array.from({ length: P }, (_, d) => ({ ct: t * P + d, rotation: mod(offset(Math.floor(d / size), d % size), slots) })),
  )
  // pooled element (i, j, c): its window's sum lands at the window's start in set g.ct[m]
  const out = { height: height / size, width: width / size }
  const pooled = out.height * out.width * channels
  const gct = new Int32Array(pooled)
  const gslot = new Int32Array(pooled)
  const used = new Set<number>()
  for (let i = 0; i < out.height; i++)
    for (let j = 0; j < out.width; j++)
      for (let c = 0; c < channels; c++) {
        const e = (i * out.width + j) * channels + c
        const m = Math.floor(c / P)
        const o = poolOrigin(size, true, c)
        const sy = o.y + i * size
        const sx = o.x + j * size
        gct[e] = g.ct[m]
        gslot[e] = mod(g.base[m] + offset(sy, sx), slots)
        if (used.has(gct[e] * slots + gslot[e])) return undefined
        used.add(gct[e] * slots + gslot[e])
        // each member must bring exactly this window's cell: the activation, or an empty slot past the edge
        for (const { ct: from, rotation } of members[gct[e]]) {
          const d = from - gct[e] * P
          const y = sy + Math.floor(d / size)
          const x = sx + (d % size)
          const at = taken.get(from * slots + mod(gslot[e] + rotation, slots))
          const want = y < height && x < width ? (y * width + x) * channels + c : undefined
          if (at !== want) return undefined
        }
      }
  return {
    layout: layoutOf(sets * P, ct, slot),
    gathered: layoutOf(sets, gct, gslot),
    gather: { layer: index, members, paths: [] },
  }
}
