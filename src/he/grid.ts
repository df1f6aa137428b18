/**
 * Where activations live in CKKS slots: a layout (ciphertext and slot per
 * logical element) and the grid that later runs build theirs on (plan.ts,
 * gather.ts). Pure arithmetic: no SEAL, no DOM, no Node.
 */
import type { Shape } from '../model/geometry'

const mod = (a: number, n: number) => ((a % n) + n) % n

/** Where one logical vector element lives. */
export interface Layout {
  ciphertexts: number
  /** ciphertext index per logical element */
  ct: Int32Array
  /** slot per logical element */
  slot: Int32Array
}

export function layoutOf(ciphertexts: number, ct: ArrayLike<number>, slot: ArrayLike<number>): Layout {
  return { ciphertexts, ct: Int32Array.from(ct), slot: Int32Array.from(slot) }
}

/** An activation on a grid: element (y, x, c) at ct[c], slot base[c] + y * rowStep + x * colStep (mod slots). */
export interface Grid {
  shape: Shape
  rowStep: number
  colStep: number
  blockSize: number
  blocksPerCt: number
  /** where channels sit within a block (base[c] = block * blockSize + one of these, before a stage's shift) */
  offsets: number[]
  ct: Int32Array
  base: Int32Array
}

export function gridLayout(g: Grid, slots: number, shift = 0): Layout {
  const { height, width, channels } = g.shape
  const n = height * width * channels
  const ct = new Int32Array(n)
  const slot = new Int32Array(n)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        const i = (y * width + x) * channels + c
        ct[i] = g.ct[c]
        slot[i] = mod(g.base[c] + y * g.rowStep + x * g.colStep + shift, slots)
      }
  return { ciphertexts: Math.max(...g.ct) + 1, ct, slot }
}

/**
 * The output grid of a run with total stride `stride` over input grid `g`:
 * the same grid with steps times `stride`; channels fill the gaps of each
 * block (the input's own channel offsets, each widened by the stride x stride
 * cells the stride leaves empty), then further blocks, then further
 * ciphertexts. A stride-1 run thus keeps its input's multiplexing instead of
 * spreading one channel per block over more ciphertexts.
 */
export function stridedGrid(g: Grid, shape: Shape, stride: number): Grid {
  const rowStep = g.rowStep * stride
  const colStep = g.colStep * stride
  const extent = (shape.height - 1) * rowStep + (shape.width - 1) * colStep
  const gaps: number[] = []
  for (const b of g.offsets)
    for (let dy = 0; dy < stride; dy++)
      for (let dx = 0; dx < stride; dx++) {
        const d = b + dy * g.rowStep + dx * g.colStep
        if (extent + d < g.blockSize && !gaps.includes(d)) gaps.push(d)
      }
  // keep only gaps whose footprints do not collide (on a regular grid they cannot, but check)
  const used = new Set<number>()
  const fitting = gaps.filter((d) => {
    const cells: number[] = []
    for (let y = 0; y < shape.height; y++) for (let x = 0; x < shape.width; x++) cells.push(d + y * rowStep + x * colStep)
    if (cells.some((c) => used.has(c))) return false
    cells.forEach((c) => used.add(c))
    return true
  })
  if (fitting.length === 0) throw new Error(`plan: a ${shape.height}x${shape.width} activation does not fit a block of ${g.blockSize} slots`)
  const perCt = fitting.length * g.blocksPerCt
  const ct = new Int32Array(shape.channels)
  const base = new Int32Array(shape.channels)
  for (let c = 0; c < shape.channels; c++) {
    const inCt = c % perCt
    ct[c] = Math.floor(c / perCt)
    base[c] = Math.floor(inCt / fitting.length) * g.blockSize + fitting[inCt % fitting.length]
  }
  return { shape, rowStep, colStep, blockSize: g.blockSize, blocksPerCt: g.blocksPerCt, offsets: fitting, ct, base }
}

/**
 * The output grid of a run that keeps every channel where it is (depthwise
 * convolutions and pools: output channel c reads input channel c only), with
 * steps times `stride`: channel c stays at its input's base, so each kernel
 * tap is one rotation for all channels of a ciphertext. The output then fills
 * only a stride x stride share of its cells; `offsets` lists the positions a
 * strided grid would use, so the next run packs its channels densely again.
 * Undefined where an output would reach past its input's cells (padding more
 * than half the kernel).
 */
export function keptGrid(g: Grid, shape: Shape, stride: number): Grid | undefined {
  if (shape.channels !== g.shape.channels) return undefined
  if ((shape.height - 1) * stride > g.shape.height - 1 || (shape.width - 1) * stride > g.shape.width - 1) return undefined
  return { ...stridedGrid(g, shape, stride), ct: g.ct, base: g.base }
}
