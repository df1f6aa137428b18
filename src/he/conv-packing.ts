/**
 * The first conv's packing: how the client lays its input out in ciphertexts
 * and where the first conv's output channels land, the grid that later stages
 * build on (plan.ts).
 */
import { convShape, type ConvGeometry } from '../model/geometry'
import { layoutOf, type Grid, type Layout } from './grid'

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
