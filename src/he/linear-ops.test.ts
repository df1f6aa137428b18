// compose() takes a shortcut when either side is diagonal (an affine half of a folded poly); it must give
// the same map as multiplying the two matrices out.
import { describe, expect, it } from 'vitest'
import { affineOp, compose, type LinearOp } from './linear-ops'

function dense(outputs: number, inputs: number, seed: number): LinearOp {
  let x = seed
  const next = () => ((x = (x * 1103515245 + 12345) % 2 ** 31), (x / 2 ** 31) * 2 - 1)
  const m = Array.from({ length: outputs }, () => Array.from({ length: inputs }, () => (next() > 0.4 ? 0 : next())))
  const b = Array.from({ length: outputs }, next)
  return {
    inputs,
    outputs,
    row: (o, emit) => m[o].forEach((v, i) => v !== 0 && emit(i, v)),
    bias: (o) => b[o],
  }
}

function affine(elements: number, channels: number, seed: number): LinearOp {
  const scale = Float64Array.from({ length: channels }, (_, c) => 0.5 + ((seed * 7 + c * 3) % 5) / 4)
  const shift = Float64Array.from({ length: channels }, (_, c) => ((seed + c) % 3) - 1)
  return affineOp(elements, channels, scale, shift)
}

/** The op as a dense matrix (entries summed where a row emits an input twice) and its bias. */
function materialise(op: LinearOp): { m: number[][]; b: number[] } {
  const m = Array.from({ length: op.outputs }, () => new Array<number>(op.inputs).fill(0))
  for (let o = 0; o < op.outputs; o++) op.row(o, (i, v) => (m[o][i] += v))
  return { m, b: Array.from({ length: op.outputs }, (_, o) => op.bias(o)) }
}

/** second(first(x)) by matrices: M2 M1 and M2 b1 + b2. */
function product(second: LinearOp, first: LinearOp): { m: number[][]; b: number[] } {
  const s = materialise(second)
  const f = materialise(first)
  const m = s.m.map((row) => Array.from({ length: first.inputs }, (_, i) => row.reduce((a, v, j) => a + v * f.m[j][i], 0)))
  const b = s.m.map((row, o) => row.reduce((a, v, j) => a + v * f.b[j], s.b[o]))
  return { m, b }
}

describe('compose', () => {
  const cases: Array<[string, LinearOp, LinearOp]> = [
    ['dense after dense', dense(5, 6, 1), dense(6, 8, 2)],
    ['affine after dense', affine(6, 3, 3), dense(6, 8, 4)],
    ['dense after affine', dense(5, 6, 5), affine(6, 2, 6)],
    ['affine after affine', affine(6, 3, 7), affine(6, 2, 8)],
    ['affine after (dense after affine)', affine(5, 5, 9), compose(dense(5, 6, 10), affine(6, 3, 11))],
  ]
  it.each(cases)('%s equals the product of the matrices', (_, second, first) => {
    const got = materialise(compose(second, first))
    const want = product(second, first)
    got.m.forEach((row, o) => row.forEach((v, i) => expect(v).toBeCloseTo(want.m[o][i], 12)))
    got.b.forEach((v, o) => expect(v).toBeCloseTo(want.b[o], 12))
  })

  it('stays diagonal only when both sides are', () => {
    expect(compose(affine(6, 3, 1), affine(6, 2, 2)).diagonal).toBeDefined()
    expect(compose(affine(6, 3, 1), dense(6, 6, 3)).diagonal).toBeUndefined()
    expect(compose(dense(6, 6, 4), affine(6, 3, 1)).diagonal).toBeUndefined()
  })
})
