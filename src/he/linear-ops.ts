/**
 * The linear parts of a network as sparse maps over HWC element indices, so
 * that consecutive linear layers (a conv, an average pool, a dense layer, the
 * affine halves of a folded `poly`) compose into one homomorphic stage: one
 * level, one set of rotations. The plan calls these with `weights` absent and
 * reads only the structure (which input feeds which output); the evaluator
 * calls them with the weights for the values. Isomorphic: no DOM, no Node.
 */
import { channelsPerGroup, layerShapes, poolOrigin, type Shape } from '../model/geometry'
import { inputShape } from '../model/forward'
import { tensor, type InputSpec, type Layer, type LayerGeometry, type Weights } from '../model/manifest'

export interface LinearOp {
  inputs: number
  outputs: number
  /** calls `emit(input, coefficient)` for every input that output `o` reads */
  row(o: number, emit: (i: number, v: number) => void): void
  bias(o: number): number
  /** set when output o reads input o alone, with this coefficient: compose then skips a callback per entry */
  diagonal?: (o: number) => number
}

/** coefficient i of a weight tensor, or 1 when only the structure is wanted */
const coefficient = (t: Float32Array | undefined): ((i: number) => number) => (t ? (i) => t[i] : () => 1)

/** conv2d over an HWC grid input; `readInput(y, x, c)` gives the input element (first layer: a patch element). */
export function convOp(
  layer: Extract<LayerGeometry, { type: 'conv2d' }> & Partial<Pick<Extract<Layer, { type: 'conv2d' }>, 'weights' | 'bias'>>,
  s: Shape,
  o: Shape,
  w?: Weights,
): LinearOp {
  const { kernel: k, stride, padding, filters } = layer
  const C = s.channels
  const G = channelsPerGroup(C, layer.groups)
  const perGroup = filters / (layer.groups ?? 1)
  const kw = coefficient(w && layer.weights ? tensor(w, layer.weights, k * k * G * filters) : undefined)
  const kb = w && layer.bias ? tensor(w, layer.bias, filters) : undefined
  return {
    inputs: s.height * s.width * C,
    outputs: o.height * o.width * filters,
    row(out, emit) {
      const f = out % filters
      const pos = (out - f) / filters
      const oy = Math.floor(pos / o.width)
      const ox = pos % o.width
      // only the input channels of f's group: a depthwise row reads one channel
      const c0 = Math.floor(f / perGroup) * G
      for (let ky = 0; ky < k; ky++) {
        const iy = oy * stride + ky - padding
        if (iy < 0 || iy >= s.height) continue
        for (let kx = 0; kx < k; kx++) {
          const ix = ox * stride + kx - padding
          if (ix < 0 || ix >= s.width) continue
          for (let c = 0; c < G; c++) emit((iy * s.width + ix) * C + c0 + c, kw(((ky * k + kx) * G + c) * filters + f))
        }
      }
    },
    bias: (out) => (kb ? kb[out % filters] : 0),
  }
}

/**
 * The first conv reads what the client sent: tap t of output position p is
 * input element `inputIndex(t, p, f)` (patches: t * positions + p; image: a
 * pixel of filter f's copy). Padding was filled in by the client. Taps are
 * (ky * kernel + kx) * channels + c over every input channel; a grouped conv's
 * filter reads the taps of its group's channels only.
 */
export function firstConvOp(
  layer: Extract<LayerGeometry, { type: 'conv2d' }> & Partial<Pick<Extract<Layer, { type: 'conv2d' }>, 'weights' | 'bias'>>,
  taps: number,
  positions: number,
  inputs: number,
  inputIndex: (t: number, p: number, f: number) => number,
  w?: Weights,
): LinearOp {
  const { filters, kernel: k } = layer
  const groups = layer.groups ?? 1
  const C = taps / (k * k)
  const G = channelsPerGroup(C, groups)
  const perGroup = filters / groups
  const kw = coefficient(w && layer.weights ? tensor(w, layer.weights, (taps / groups) * filters) : undefined)
  const kb = w && layer.bias ? tensor(w, layer.bias, filters) : undefined
  return {
    inputs,
    outputs: positions * filters,
    row(out, emit) {
      const f = out % filters
      const p = (out - f) / filters
      const c0 = Math.floor(f / perGroup) * G
      for (let kk = 0; kk < k * k; kk++) {
        for (let c = 0; c < G; c++) emit(inputIndex(kk * C + c0 + c, p, f), kw((kk * G + c) * filters + f))
      }
    },
    bias: (out) => (kb ? kb[out % filters] : 0),
  }
}

/** avgpool2d, staggered or not (geometry.ts poolOrigin); a window's cells past the edge are zeros. */
export function avgPoolOp(size: number, s: Shape, o: Shape, stagger?: boolean): LinearOp {
  const C = s.channels
  const v = 1 / (size * size)
  return {
    inputs: s.height * s.width * C,
    outputs: o.height * o.width * C,
    row(out, emit) {
      const c = out % C
      const pos = (out - c) / C
      const origin = poolOrigin(size, stagger, c)
      const y0 = origin.y + Math.floor(pos / o.width) * size
      const x0 = origin.x + (pos % o.width) * size
      for (let dy = 0; dy < size; dy++)
        for (let dx = 0; dx < size; dx++) {
          if (y0 + dy < s.height && x0 + dx < s.width) emit(((y0 + dy) * s.width + x0 + dx) * C + c, v)
        }
    },
    bias: () => 0,
  }
}

/**
 * A staggered pool whose window sums the server gathered (plan.ts, gather):
 * input o is the sum of pooled element o's window of activations y =
 * scale[c] * z + shift[c] (a poly's affine half after its square, z the
 * squares; identity without one), output o that window's average of y.
 * Cells past the edge are zeros of y, not of z: their shift is not counted.
 */
export function gatheredPoolOp(size: number, s: Shape, o: Shape, after?: { scale: Float64Array; shift: Float64Array }): LinearOp {
  const C = s.channels
  const v = 1 / (size * size)
  const pool = avgPoolOp(size, s, o, true)
  const cells = (out: number) => {
    let n = 0
    pool.row(out, () => n++)
    return n
  }
  return {
    inputs: o.height * o.width * C,
    outputs: o.height * o.width * C,
    row: (out, emit) => emit(out, v * (after ? after.scale[out % C] : 1)),
    bias: (out) => (after ? v * cells(out) * after.shift[out % C] : 0),
  }
}

export function denseOp(
  layer: Extract<LayerGeometry, { type: 'dense' }> & Partial<Pick<Extract<Layer, { type: 'dense' }>, 'weights' | 'bias'>>,
  inputs: number,
  w?: Weights,
): LinearOp {
  const { units } = layer
  const kw = coefficient(w && layer.weights ? tensor(w, layer.weights, inputs * units) : undefined)
  const kb = w && layer.bias ? tensor(w, layer.bias, units) : undefined
  return {
    inputs,
    outputs: units,
    row(o, emit) {
      for (let i = 0; i < inputs; i++) emit(i, kw(i * units + o))
    },
    bias: (o) => (kb ? kb[o] : 0),
  }
}

/** y = scale[c] * x + shift[c] per channel (HWC, `channels` fastest). */
export function affineOp(elements: number, channels: number, scale: Float64Array, shift: Float64Array): LinearOp {
  const diagonal = (o: number) => scale[o % channels]
  return {
    inputs: elements,
    outputs: elements,
    row: (o, emit) => emit(o, diagonal(o)),
    bias: (o) => shift[o % channels],
    diagonal,
  }
}

/** second(first(x)): rows multiply out, the first op's bias flows through the second. */
export function compose(second: LinearOp, first: LinearOp): LinearOp {
  if (second.inputs !== first.outputs) throw new Error(`compose: ${first.outputs} outputs feed ${second.inputs} inputs`)
  const d1 = first.diagonal
  const d2 = second.diagonal
  // the same products in the same order as the general case; a diagonal side just needs no nested callback
  const row: LinearOp['row'] = d1
    ? (o, emit) => second.row(o, (j, v2) => emit(j, v2 * d1(j)))
    : d2
      ? (o, emit) => {
          const v2 = d2(o)
          first.row(o, (i, v1) => emit(i, v2 * v1))
        }
      : (o, emit) => second.row(o, (j, v2) => first.row(j, (i, v1) => emit(i, v2 * v1)))
  return {
    inputs: first.inputs,
    outputs: second.outputs,
    row,
    ...(d1 && d2 ? { diagonal: (o: number) => d2(o) * d1(o) } : {}),
    bias(o) {
      let b = second.bias(o)
      second.row(o, (j, v2) => (b += v2 * first.bias(j)))
      return b
    },
  }
}

/**
 * a*x^2 + b*x + c with a != 0 is sign(a) * (sqrt|a| * (x + b/2a))^2 + c - b^2/4a:
 * an affine map before a square and another after it, both folded into the
 * linear stages around it, so `poly` costs what `square` costs. The public
 * plan sees only a square; these numbers stay on the server.
 */
export function polyAffines(coefficients: Float32Array, channels: number): { before: { scale: Float64Array; shift: Float64Array }; after: { scale: Float64Array; shift: Float64Array } } {
  const before = { scale: new Float64Array(channels), shift: new Float64Array(channels) }
  const after = { scale: new Float64Array(channels), shift: new Float64Array(channels) }
  for (let c = 0; c < channels; c++) {
    const [a, b, k] = [coefficients[3 * c], coefficients[3 * c + 1], coefficients[3 * c + 2]]
    if (!(Math.abs(a) >= 1e-4)) throw new Error(`poly: channel ${c} has a = ${a}; |a| >= 1e-4 is required (a linear activation belongs in the layers around it)`)
    const r = Math.sqrt(Math.abs(a))
    before.scale[c] = r
    before.shift[c] = (r * b) / (2 * a)
    after.scale[c] = Math.sign(a)
    after.shift[c] = k - (b * b) / (4 * a)
  }
  return { before, after }
}

/** One run of linear layers between activations (or the input and the output). */
export interface LinearRun {
  /** manifest layer indices, in order */
  layers: number[]
  /** shape the run reads; for the first run, the first conv's input (the client sends patches of it) */
  input: Shape
  output: Shape
  /** product of the strides in the run (conv strides, pool sizes), used to lay out its output */
  stride: number
  /** the run ends with a dense layer */
  dense: boolean
  /** the activation that follows the run, if any; `poly` contributes affines on both sides; `bilinear` ends the network */
  activation?: { layer: number; type: 'square' | 'poly' | 'bilinear' }
}

/** Splits a network into linear runs separated by activations, checking its shapes. */
export function linearRuns(model: { input: Pick<InputSpec, 'height' | 'width' | 'channels'>; layers: LayerGeometry[] }): LinearRun[] {
  const shapes = layerShapes(inputShape(model.input), model.layers)
  const runs: LinearRun[] = []
  let current: LinearRun | undefined
  let shape = inputShape(model.input)
  model.layers.forEach((l, i) => {
    if (l.type === 'bilinear') {
      if (i !== model.layers.length - 1) throw new Error(`layer ${i} (bilinear): only the last layer may be bilinear`)
      if (!current?.dense) throw new Error(`layer ${i} (bilinear): it must follow a dense layer`)
      current.activation = { layer: i, type: l.type }
      runs.push(current)
      current = undefined
    } else if (l.type === 'square' || l.type === 'poly') {
      if (!current) throw new Error(`layer ${i} (${l.type}): an activation must follow a linear layer`)
      current.activation = { layer: i, type: l.type }
      runs.push(current)
      current = undefined
    } else {
      const afterDense = current?.dense || runs.some((r) => r.dense)
      if (afterDense && l.type !== 'dense') throw new Error(`layer ${i} (${l.type}): only dense layers and activations may follow a dense layer`)
      current ??= { layers: [], input: shape, output: shape, stride: 1, dense: false }
      current.layers.push(i)
      current.output = shapes[i]
      if (l.type === 'conv2d') current.stride *= l.stride
      if (l.type === 'avgpool2d') current.stride *= l.size
      if (l.type === 'dense') current.dense = true
    }
    shape = shapes[i]
  })
  if (current) {
    if (!current.dense) throw new Error('model: the last layer must be dense (or bilinear)')
    runs.push(current)
  } else if (runs[runs.length - 1]?.activation?.type !== 'bilinear') {
    throw new Error('model: the last layer must be dense (or bilinear), not an activation')
  }
  if (model.layers[0]?.type !== 'conv2d') throw new Error('model: the first layer must be conv2d')
  return runs
}
