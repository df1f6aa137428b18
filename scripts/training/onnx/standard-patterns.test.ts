/**
 * The two patterns model:export-onnx writes for layers plain ONNX has no operator for, read back
 * by the translator: a depthwise Conv with fixed window weights as a staggered pool, and Slice,
 * Mul, Reshape, ReduceSum as a bilinear read-out; and a graph that only resembles them is refused
 * naming the node. (The round trip of the shipped fashion-cnn through ONNX Runtime: write-onnx.test.ts.)
 */
import { describe, expect, it } from 'vitest'
import { poolOrigin } from '../../../src/model/geometry'
import { OnnxImportError } from './import-error'
import type { OnnxAttribute, OnnxGraph, OnnxNode, OnnxTensor } from './read-onnx'
import { translate } from './translate'

const tensor = (dims: number[], data: ArrayLike<number>): OnnxTensor => ({ dims, data: Float64Array.from(data) })
const filled = (dims: number[], f: (i: number) => number) => tensor(dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)))

/** The staggered pool's window weights: channel c's n x n block of 1/n^2 where its windows start. */
function windows(C: number, n: number): OnnxTensor {
  const k = 2 * n - 1
  const w = new Float64Array(C * k * k)
  for (let c = 0; c < C; c++) {
    const o = poolOrigin(n, true, c)
    for (let dy = 0; dy < n; dy++) for (let dx = 0; dx < n; dx++) w[(c * k + o.y + dy) * k + o.x + dx] = Math.fround(1 / (n * n))
  }
  return tensor([C, 1, k, k], w)
}

interface Variant {
  window?: OnnxTensor
  poolPads?: number[]
  halves?: Array<[number, number]>
  groups?: number[]
  keepdims?: number
  /** no square after the conv, and a per-channel Add after the pool */
  shiftAfterPool?: boolean
}

/** conv 3x3 (4 filters) on 1x6x6, x*x, staggered pool 2, dense to 8, bilinear read-out of 2 units (K = 2). */
function graph(v: Variant = {}): OnnxGraph {
  const [first, second] = v.halves ?? [
    [0, 4],
    [4, 9_223_372_036_854_775_807],
  ]
  const constants = new Map<string, OnnxTensor>([
    ['conv.w', filled([4, 1, 3, 3], (i) => ((i * 7) % 11) / 10 - 0.5)],
    ['conv.b', filled([4], (i) => i / 10)],
    ['pool.w', v.window ?? windows(4, 2)],
    ['fc.w', filled([8, 16], (i) => ((i * 5) % 13) / 13 - 0.5)],
    ['fc.b', filled([8], (i) => i / 8)],
    ['s0', tensor([1], [first[0]])],
    ['e0', tensor([1], [first[1]])],
    ['s1', tensor([1], [second[0]])],
    ['e1', tensor([1], [second[1]])],
    ['axis', tensor([1], [1])],
    ['groups', tensor([3], v.groups ?? [-1, 2, 2])],
    ['shift', filled([4, 1, 1], (i) => i + 1)],
  ])
  const node = (name: string, opType: string, inputs: string[], attributes: Record<string, OnnxAttribute> = {}): OnnxNode => ({ name, opType, inputs, outputs: [name], attributes: new Map(Object.entries(attributes)) })
  const nodes = [
    node('/conv', 'Conv', ['image', 'conv.w', 'conv.b'], { kernel_shape: [3, 3] }),
    v.shiftAfterPool ? node('/square', 'Identity', ['/conv']) : node('/square', 'Mul', ['/conv', '/conv']),
    node('/pool', 'Conv', ['/square', 'pool.w'], { kernel_shape: [3, 3], strides: [2, 2], pads: v.poolPads ?? [0, 0, 1, 1], group: 4 }),
    ...(v.shiftAfterPool ? [node('/shift', 'Add', ['/pool', 'shift'])] : []),
    node('/flatten', 'Flatten', [v.shiftAfterPool ? '/shift' : '/pool'], { axis: 1 }),
    node('/fc', 'Gemm', ['/flatten', 'fc.w', 'fc.b'], { transB: 1 }),
    node('/first', 'Slice', ['/fc', 's0', 'e0', 'axis']),
    node('/second', 'Slice', ['/fc', 's1', 'e1', 'axis']),
    node('/product', 'Mul', ['/first', '/second']),
    node('/grouped', 'Reshape', ['/product', 'groups']),
    node('/logits', 'ReduceSum', ['/grouped', 'axis'], { keepdims: v.keepdims ?? 0 }),
  ]
  return { opset: 17, producer: 'test', nodes, constants, input: { name: 'image', dims: [null, 1, 6, 6] }, output: '/logits' }
}

function refusal(g: OnnxGraph): OnnxImportError {
  try {
    translate(g)
  } catch (e) {
    expect(e).toBeInstanceOf(OnnxImportError)
    return e as OnnxImportError
  }
  throw new Error('the graph was accepted')
}

describe('the standard-operator patterns', () => {
  it('reads the depthwise window Conv as a staggered pool and Slice, Mul, Reshape, ReduceSum as a bilinear read-out', () => {
    const t = translate(graph())
    expect(t.layers.map((l) => (l.type === 'avgpool2d' ? `${l.type} ${l.size}${l.stagger ? ' staggered' : ''}` : l.type))).toEqual(['conv2d', 'square', 'avgpool2d 2 staggered', 'dense', 'bilinear'])
    expect(t.layers.at(-1)).toMatchObject({ type: 'bilinear', units: 2, node: '/logits' })
  })

  it('refuses what only resembles them, naming the node', () => {
    const off = windows(4, 2)
    off.data[0] = 0.5
    expect(refusal(graph({ window: off })).node).toEqual({ name: '/pool', opType: 'Conv' })
    expect(refusal(graph({ poolPads: [1, 1, 0, 0] })).node).toEqual({ name: '/pool', opType: 'Conv' })
    expect(refusal(graph({ halves: [[0, 3], [4, 8]] })).message).toMatch(/'\/first' \(Slice\).*two halves/)
    expect(refusal(graph({ groups: [-1, 2, 3] })).message).toMatch(/'\/grouped' \(Reshape\).*\[N, K, units\]/)
    expect(refusal(graph({ groups: [1, 2, 4] })).node).toEqual({ name: '/grouped', opType: 'Reshape' })
    expect(refusal(graph({ keepdims: 1 })).message).toMatch(/'\/logits' \(ReduceSum\).*keepdims 0/)
    // a window past the edge reads zeros: a shift after the pool is not the same shift before it
    expect(refusal(graph({ shiftAfterPool: true })).message).toMatch(/'\/fc' \(Gemm\).*shift .* after the staggered pool of node '\/pool'/)
  })
})
