/**
 * Walks an ONNX graph node by node and builds the manifest's layers: Conv (with any zero Pad in
 * front of it), AveragePool and GlobalAveragePool, Gemm and MatMul as dense, Flatten/Reshape
 * before a dense layer (the C-major flatten order permuted to the manifest's HWC rows), and
 * element-wise polynomials of the activation (x*x, Pow(x, 2), a*x^2 + b*x + c, BatchNormalization,
 * bias Adds) kept pending as one per-channel polynomial until a layer needs the activation
 * (./values.ts), and the two patterns ./write-onnx.ts writes for what plain ONNX has no operator
 * for: a depthwise Conv with fixed window weights as a staggered pool, and Slice, Mul, Reshape,
 * ReduceSum over a dense layer's output as a bilinear read-out. Anything else is refused naming
 * its node.
 */
import { poolOrigin } from '../../../src/model/geometry'
import { refuseNode, OnnxImportError } from './import-error'
import { constantNode, evaluateConstantOp } from './constant-ops'
import { foldAffine, type PendingLayer } from './layers'
import type { OnnxGraph, OnnxNode, OnnxTensor } from './read-onnx'
import { addPolys, channelsOf, degree, featuresOf, identityPoly, multiplyPolys, onnxDims, perChannel, scalePoly, shiftPoly, type Activation, type Layout, type Value } from './values'

export interface Translation {
  layers: PendingLayer[]
  input: { channels: number; height: number; width: number }
  /** what was dropped or folded, for the command to print */
  notes: string[]
  /** a final Softmax or LogSoftmax left out of the manifest: ORT's output is that function of the logits */
  droppedSoftmax?: 'Softmax' | 'LogSoftmax'
}

const PASS_THROUGH = new Set(['Identity', 'Dropout'])

export function translate(g: OnnxGraph): Translation {
  const [batch, channels, height, width] = g.input.dims
  if (g.input.dims.length !== 4 || (batch !== null && batch !== 1) || !channels || !height || !width) {
    throw new OnnxImportError(`input '${g.input.name}' has dims [${g.input.dims.map((d) => d ?? '?')}]; the importer takes one image [N, C, H, W] with fixed C, H and W`)
  }
  if (channels !== 1 && channels !== 3) throw new OnnxImportError(`input '${g.input.name}' has ${channels} channels; images have 1 (grey) or 3 (RGB)`)
  const layers: PendingLayer[] = []
  const notes: string[] = []
  let droppedSoftmax: Translation['droppedSoftmax']
  const values = new Map<string, Value>()
  for (const [name, t] of g.constants) values.set(name, { kind: 'constant', tensor: t })
  values.set(g.input.name, { kind: 'activation', head: 0, layout: { kind: 'image', c: channels, h: height, w: width } })

  const constantOf = (name: string): OnnxTensor | undefined => {
    const v = values.get(name)
    return v?.kind === 'constant' ? v.tensor : undefined
  }
  /** The activation `name` holds, as the current layers' output with no polynomial pending. */
  const materialise = (name: string, node: OnnxNode): Activation => {
    const v = values.get(name)
    if (v?.kind === 'bilinear-part') throw refuseNode(node, `its input '${name}' is part of an unfinished bilinear read-out: Slice a dense layer's output into halves, Mul them, Reshape to [N, K, units], ReduceSum over axis 1`)
    if (!v || v.kind !== 'activation') throw refuseNode(node, `its input '${name}' is ${v ? 'a constant where the activation was expected' : 'not produced by any node before it'}`)
    if (v.head !== layers.length) throw refuseNode(node, `it reads '${name}', an activation from before the latest layer: the importer takes a single chain of layers (no skip connections)`)
    if (v.pads) throw refuseNode(node, 'padding is supported only directly in front of a Conv')
    const d = degree(v.poly)
    if (d === 0) return { ...v, poly: undefined }
    const p = v.poly!
    if (d === 1) {
      const at = layers.findLastIndex((l) => l.type !== 'avgpool2d')
      const linear = layers[at]
      if (!linear || (linear.type !== 'conv2d' && linear.type !== 'dense')) {
        throw refuseNode(node, `a per-channel scale and shift (a batch norm, Mul or Add) reaches it ${linear ? `after the ${linear.type} of node '${linear.node}'` : 'from the input image'}; it can only be folded into a Conv or dense layer right before it (place batch norm right after a Conv or Linear)`)
      }
      // a staggered window past the edge reads zeros, so a shift does not pass through the pool
      const staggered = layers.slice(at + 1).find((l) => l.type === 'avgpool2d' && l.stagger)
      if (staggered && p.c.some((c) => c !== 0)) throw refuseNode(node, `a per-channel shift (a batch norm or Add) after the staggered pool of node '${staggered.node}' cannot be folded into the layer before the pool; place it before the pool`)
      foldAffine(linear, p.b, p.c)
      notes.push(`folded a per-channel scale and shift into ${linear.type} '${linear.node}'`)
    } else if (layers[layers.length - 1]?.type === 'square' || layers[layers.length - 1]?.type === 'poly') {
      throw refuseNode(nodeNamed(v.origin) ?? node, `it follows the activation of node '${layers[layers.length - 1].node}' with no Conv or dense layer between: the engine takes one square or polynomial after each linear layer`)
    } else if (p.a.every((a) => a === 1) && p.b.every((b) => b === 0) && p.c.every((c) => c === 0)) {
      layers.push({ type: 'square', node: v.origin ?? node.name })
    } else {
      const zero = p.a.findIndex((a) => a === 0)
      if (zero >= 0) throw refuseNode(node, `its polynomial's x^2 coefficient is 0 in channel ${zero}; a poly layer needs a != 0 in every channel`)
      const coefficients = new Float64Array(3 * p.a.length)
      p.a.forEach((_, i) => coefficients.set([p.a[i], p.b[i], p.c[i]], 3 * i))
      layers.push({ type: 'poly', coefficients, node: v.origin ?? node.name })
    }
    return { kind: 'activation', head: layers.length, layout: v.layout }
  }
  const nodeNamed = (name: string | undefined) => g.nodes.find((n) => n.name === name)
  const activationOut = (layout: Layout): Activation => ({ kind: 'activation', head: layers.length, layout })

  const nodes = g.nodes
  nodes.forEach((node, index) => {
    const ins = node.inputs.map((n) => (n === '' ? undefined : values.get(n)))
    // a changed polynomial remembers the node that last changed it: its layer is named after that node
    const set = (v: Value) => values.set(node.outputs[0], v.kind === 'activation' && v.poly && v.poly !== (ins[0] as Activation | undefined)?.poly ? { ...v, origin: node.name } : v)
    const attr = <T>(name: string, fallback: T): T => (node.attributes.get(name) as T | undefined) ?? fallback
    const op = node.opType
    if (op === 'Constant') return set({ kind: 'constant', tensor: constantNode(node) })
    if (op === 'Shape') {
      const v = ins[0]
      if (v?.kind !== 'activation') throw refuseNode(node, 'only the shape of the activation can be read')
      const dims = onnxDims(v.layout)
      return set({ kind: 'constant', tensor: { dims: [dims.length], data: Float64Array.from(dims) } })
    }
    const constantInputs = node.inputs.map((n) => constantOf(n))
    if (ins.every((v) => v === undefined || v.kind === 'constant')) {
      const folded = evaluateConstantOp(node, constantInputs)
      if (folded) return set({ kind: 'constant', tensor: folded })
    }
    const x = ins[0]
    const y = ins[1]
    if (PASS_THROUGH.has(op) && x) return set(x)
    switch (op) {
      case 'Mul':
      case 'Add':
      case 'Sub':
      case 'Div': {
        if (x?.kind === 'bilinear-part' || y?.kind === 'bilinear-part') {
          const halves = x?.kind === 'bilinear-part' && y?.kind === 'bilinear-part' && x.stage === 'half' && y.stage === 'half' && x.which !== y.which && x.head === y.head
          if (op !== 'Mul' || !halves) throw refuseNode(node, "a bilinear read-out multiplies the two halves of a dense layer's output element by element (Mul), and nothing else")
          return set({ kind: 'bilinear-part', stage: 'product', head: x.head, features: x.features })
        }
        const act = [x, y].find((v) => v?.kind === 'activation') as Activation | undefined
        if (!act) break
        const n = channelsOf(act.layout)
        const polyOf = (v: Activation) => v.poly ?? identityPoly(n)
        if (x?.kind === 'activation' && y?.kind === 'activation') {
          if (x.head !== y.head) throw refuseNode(node, 'its operands come from different layers: the importer takes a single chain of layers')
          if (op === 'Div') throw refuseNode(node, 'dividing by the activation cannot run under CKKS')
          if (op === 'Mul') {
            if (degree(x.poly) === 2 || degree(y.poly) === 2) {
              if (node.inputs[0] !== node.inputs[1]) throw refuseNode(node, 'a product of degree above 2 must square one value (x*x)')
              const base = materialise(node.inputs[0], node)
              return set({ ...base, poly: { a: new Float64Array(n).fill(1), b: new Float64Array(n), c: new Float64Array(n) } })
            }
            return set({ ...act, poly: multiplyPolys(polyOf(x), polyOf(y)) })
          }
          return set({ ...act, poly: addPolys(polyOf(x), polyOf(y), op === 'Sub' ? -1 : 1) })
        }
        const k = perChannel(((act === x ? y : x) as { tensor: OnnxTensor }).tensor, act.layout, node)
        const p = polyOf(act)
        if (op === 'Mul') return set({ ...act, poly: scalePoly(p, k) })
        if (op === 'Div') {
          if (act !== x) throw refuseNode(node, 'dividing by the activation cannot run under CKKS')
          return set({ ...act, poly: scalePoly(p, k.map((v) => 1 / v)) })
        }
        if (op === 'Add') return set({ ...act, poly: shiftPoly(p, k) })
        return set({ ...act, poly: act === x ? shiftPoly(p, k.map((v) => -v)) : shiftPoly(scalePoly(p, k.map(() => -1)), k) })
      }
      case 'Pow': {
        const e = constantInputs[1]
        if (x?.kind !== 'activation' || !e || e.data.length !== 1 || (e.data[0] !== 2 && e.data[0] !== 1)) throw refuseNode(node, 'only Pow(x, 2) (a square) is supported')
        if (e.data[0] === 1) return set(x)
        const base = degree(x.poly) === 2 ? materialise(node.inputs[0], node) : x
        const p = base.poly ?? identityPoly(channelsOf(base.layout))
        return set({ ...base, poly: multiplyPolys(p, p) })
      }
      case 'BatchNormalization': {
        if (x?.kind !== 'activation') break
        // BatchNormalization's parameters are [C], one per channel of axis 1
        const [scale, bias, mean, variance] = constantInputs.slice(1).map((t) => (t && t.data.length === channelsOf(x.layout) ? t.data : t ? perChannel(t, x.layout, node) : undefined))
        if (!scale || !bias || !mean || !variance) throw refuseNode(node, 'its scale, bias, mean and variance must be constants (export in eval mode)')
        const eps = attr('epsilon', 1e-5)
        const s = scale.map((v, i) => v / Math.sqrt(variance[i] + eps))
        const p = x.poly ?? identityPoly(s.length)
        return set({ ...x, poly: shiftPoly(scalePoly(p, s), bias.map((b, i) => b - mean[i] * s[i])) })
      }
      case 'Pad': {
        if (x?.kind !== 'activation' || x.layout.kind !== 'image') break
        const pads = constantInputs[1]?.data ?? attr<number[] | undefined>('pads', undefined)
        const value = constantInputs[2]?.data[0] ?? attr('value', 0)
        if (!pads || attr('mode', 'constant') !== 'constant' || value !== 0 || pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5]) throw refuseNode(node, 'only zero padding of the height and width is supported')
        if (Array.from(pads).every((p) => p === 0)) return set(x)
        const prior = x.pads ?? [0, 0, 0, 0]
        values.set(node.inputs[0], { ...x, pads: undefined })
        const base = materialise(node.inputs[0], node)
        return set({ ...base, pads: [pads[2], pads[3], pads[6], pads[7]].map((p, i) => p + prior[i]) })
      }
      case 'Conv': {
        const v = values.get(node.inputs[0])
        const pending = v?.kind === 'activation' ? v.pads ?? [0, 0, 0, 0] : [0, 0, 0, 0]
        if (v?.kind === 'activation') values.set(node.inputs[0], { ...v, pads: undefined })
        const a = materialise(node.inputs[0], node)
        const w = constantInputs[1]
        if (a.layout.kind !== 'image' || !w || w.dims.length !== 4) throw refuseNode(node, 'a Conv needs an image input and constant 2-D weights')
        const [filters, inC, kh, kw] = w.dims
        const pads = attr<number[]>('pads', [0, 0, 0, 0]).map((p, i) => p + pending[i])
        const strides = attr<number[]>('strides', [1, 1])
        const groups = attr('group', 1)
        if (attr<number[]>('dilations', [1, 1]).some((d) => d !== 1)) throw refuseNode(node, 'dilated convolutions are not supported (dilation 1)')
        if (!['NOTSET', 'VALID', ''].includes(attr('auto_pad', 'NOTSET'))) throw refuseNode(node, 'auto_pad SAME is not supported: give explicit pads')
        const stagger = staggeredPoolSize(w, constantInputs[2], pads, strides, groups, a.layout)
        if (stagger) {
          layers.push({ type: 'avgpool2d', size: stagger, stagger: true, node: node.name })
          return set(activationOut({ kind: 'image', c: a.layout.c, h: a.layout.h / stagger, w: a.layout.w / stagger }))
        }
        if (kh !== kw || strides[0] !== strides[1] || pads.some((p) => p !== pads[0])) throw refuseNode(node, 'the kernel must be square, the strides equal and the padding the same on every side')
        if (inC * groups !== a.layout.c || filters % groups) throw refuseNode(node, `its weights read ${inC} channels in each of ${groups} group(s) of ${filters} filters, the activation has ${a.layout.c}`)
        const h = Math.floor((a.layout.h + 2 * pads[0] - kh) / strides[0]) + 1
        const wd = Math.floor((a.layout.w + 2 * pads[0] - kh) / strides[0]) + 1
        const bias = constantInputs[2] ? Float64Array.from(constantInputs[2].data) : new Float64Array(filters)
        layers.push({ type: 'conv2d', node: node.name, kernel: kh, stride: strides[0], padding: pads[0], filters, groups, inChannels: inC, weights: Float64Array.from(w.data), bias })
        return set(activationOut({ kind: 'image', c: filters, h, w: wd }))
      }
      case 'AveragePool':
      case 'GlobalAveragePool': {
        if (x?.kind === 'activation' && x.pads) throw refuseNode(node, 'padding in front of a pool is not supported: use a pool whose size divides the input side')
        const a = materialise(node.inputs[0], node)
        if (a.layout.kind !== 'image') break
        const { h, w, c } = a.layout
        let size = h
        if (op === 'GlobalAveragePool') {
          if (h !== w) throw refuseNode(node, `a global pool of a ${h}x${w} input: the importer pools square windows (use a square input)`)
        } else {
          const [kh, kw] = attr<number[]>('kernel_shape', [])
          const strides = attr<number[]>('strides', [1, 1])
          if (kh !== kw || strides[0] !== kh || strides[1] !== kh || attr<number[]>('pads', [0, 0, 0, 0]).some((p) => p !== 0)) {
            throw refuseNode(node, 'the pool must be square, with stride equal to its size and no padding (nn.AvgPool2d(k))')
          }
          size = kh
        }
        if (h % size || w % size) throw refuseNode(node, `a pool of size ${size} must divide the ${h}x${w} input`)
        if (size === 1) return set(a)
        layers.push({ type: 'avgpool2d', size, node: node.name })
        return set(activationOut({ kind: 'image', c, h: h / size, w: w / size }))
      }
      case 'Slice': {
        if (x?.kind !== 'activation' || x.layout.kind !== 'vector') break
        const a = materialise(node.inputs[0], node)
        const F = featuresOf(a.layout)
        const [starts, ends, axes, steps] = [1, 2, 3, 4].map((i) => constantInputs[i]?.data)
        const at = (v: number) => Math.min(Math.max(v < 0 ? v + F : v, 0), F)
        const one = (t: Float64Array | undefined) => t?.length === 1
        const range = one(starts) && one(ends) && one(axes) && [1, -1].includes(axes![0]) && (!steps || (one(steps) && steps[0] === 1)) ? [at(starts![0]), at(ends![0])] : []
        const which = F % 2 ? undefined : range[0] === 0 && range[1] === F / 2 ? 0 : range[0] === F / 2 && range[1] === F ? 1 : undefined
        if (which === undefined) throw refuseNode(node, "only slicing a dense layer's output into its two halves (for a bilinear read-out) is supported")
        return set({ kind: 'bilinear-part', stage: 'half', which, head: a.head, features: F })
      }
      case 'ReduceSum': {
        if (x?.kind !== 'bilinear-part') break
        const axes = constantInputs[1]?.data ?? attr<number[] | undefined>('axes', undefined)
        if (x.stage !== 'grouped' || axes?.length !== 1 || (axes[0] !== 1 && axes[0] !== -2) || attr<number>('keepdims', 1) !== 0) {
          throw refuseNode(node, 'a bilinear read-out sums its products over K: ReduceSum over axis 1 of [N, K, units] with keepdims 0')
        }
        if (x.head !== layers.length) throw refuseNode(node, 'its products come from before the latest layer: the importer takes a single chain of layers')
        layers.push({ type: 'bilinear', units: x.units, node: node.name })
        return set(activationOut({ kind: 'vector', units: x.units }))
      }
      case 'Flatten':
      case 'Reshape': {
        if (x?.kind === 'bilinear-part') {
          const half = x.features / 2
          // [N, K, units] with the batch of one: 0 keeps a dimension, one -1 takes what is left
          const dims = op === 'Reshape' && constantInputs[1] ? Array.from(constantInputs[1].data, (d, i) => (d === 0 ? [1, half][i] ?? 0 : d)) : []
          const known = dims.filter((d) => d !== -1).reduce((p, d) => p * d, 1)
          const shape = dims.map((d) => (d === -1 ? half / known : d))
          if (x.stage !== 'product' || dims.length !== 3 || dims.filter((d) => d === -1).length > 1 || shape[0] !== 1 || !shape.every((d) => Number.isInteger(d) && d > 0) || shape[1] * shape[2] !== half) {
            throw refuseNode(node, "a bilinear read-out groups the product of the halves as [N, K, units] (Reshape) before summing over K")
          }
          return set({ kind: 'bilinear-part', stage: 'grouped', head: x.head, features: x.features, units: shape[2] })
        }
        if (x?.kind !== 'activation') break
        const target = op === 'Flatten' ? (attr<number>('axis', 1) === 1 ? [1, -1] : undefined) : constantInputs[1] && Array.from(constantInputs[1].data, (d, i) => (d === 0 ? onnxDims(x.layout)[i] : d))
        const features = featuresOf(x.layout)
        const flat = target?.length === 2 && target[0] === 1 && (target[1] === -1 || target[1] === features)
        if (!flat) throw refuseNode(node, `only flattening to [N, ${features}] before a dense layer is supported${target ? `, not [${target}]` : ''}`)
        return set({ ...x, layout: x.layout.kind === 'image' ? { ...x.layout, kind: 'flat' } : x.layout })
      }
      case 'Gemm':
      case 'MatMul': {
        const a = materialise(node.inputs[0], node)
        const b = constantInputs[1]
        if (a.layout.kind === 'image' || !b || b.dims.length !== 2) throw refuseNode(node, 'a dense layer needs a flattened activation times a constant matrix')
        const transB = op === 'Gemm' && attr<number>('transB', 0) === 1
        if (op === 'Gemm' && attr<number>('transA', 0) !== 0) throw refuseNode(node, 'transA is not supported')
        const [inputs, units] = transB ? [b.dims[1], b.dims[0]] : b.dims
        if (inputs !== featuresOf(a.layout)) throw refuseNode(node, `its weights take ${inputs} inputs, the activation has ${featuresOf(a.layout)}`)
        const alpha = op === 'Gemm' ? attr('alpha', 1) : 1
        const beta = op === 'Gemm' ? attr('beta', 1) : 1
        const weights = denseWeights(b.data, inputs, units, transB, a.layout, alpha)
        const c = constantInputs[2]
        const bias = c ? perChannel(c, { kind: 'vector', units }, node).map((v) => v * beta) : new Float64Array(units)
        layers.push({ type: 'dense', units, weights, bias, node: node.name })
        return set(activationOut({ kind: 'vector', units }))
      }
      case 'Softmax':
      case 'LogSoftmax':
        if (x?.kind === 'activation' && node.outputs[0] === g.output && x.layout.kind === 'vector' && nodes.slice(index + 1).every((n) => !n.inputs.includes(node.outputs[0]))) {
          droppedSoftmax = op
          notes.push(`dropped the final ${op} '${node.name}': the argmax is unchanged and the page computes probabilities from the logits`)
          return set(x)
        }
        break
    }
    throw refuseNode(node)
  })
  const out = values.get(g.output)
  if (out?.kind !== 'activation') throw new OnnxImportError(`the graph's output '${g.output}' is not computed from the input image`)
  const finalNode = nodes.find((n) => n.outputs.includes(g.output)) ?? nodes[nodes.length - 1]
  const last = materialise(g.output, finalNode)
  const end = layers[layers.length - 1]?.type
  if (last.layout.kind !== 'vector' || (end !== 'dense' && end !== 'bilinear')) throw refuseNode(finalNode, 'the network must end with a dense layer (Gemm or MatMul) giving the logits')
  const early = layers.slice(0, -1).find((l) => l.type === 'bilinear')
  if (early) throw refuseNode(nodeNamed(early.node) ?? finalNode, 'a bilinear read-out must be the last layer')
  if (layers[0]?.type !== 'conv2d') throw refuseNode(finalNode, `the network must start with a Conv (its first layer is ${layers[0]?.type}, node '${layers[0]?.node}')`)
  return { layers, input: { channels, height, width }, notes, droppedSoftmax }
}

/**
 * Dense weights in the manifest's layout, `[inputs, units]` with rows in HWC order; ONNX
 * flattens an image C-major (`c*H*W + y*W + x`), so a flattened image's rows are permuted.
 */
function denseWeights(b: Float64Array, inputs: number, units: number, transB: boolean, layout: Layout, alpha: number): Float64Array {
  const out = new Float64Array(inputs * units)
  const row = (i: number) => {
    if (layout.kind !== 'flat') return i
    const { c: C, h: H, w: W } = layout
    const c = Math.floor(i / (H * W))
    const yx = i % (H * W)
    return yx * C + c
  }
  for (let i = 0; i < inputs; i++) {
    const r = row(i)
    for (let u = 0; u < units; u++) out[r * units + u] = alpha * (transB ? b[u * inputs + i] : b[i * units + u])
  }
  return out
}

/**
 * The size k of the staggered pool a depthwise Conv computes, or undefined when it is not one:
 * one filter per channel, a (2k-1)-wide kernel with stride k, no bias, k-1 zeros padded below
 * and to the right, and each channel's kernel 1/k^2 over the k x k window where its pool windows
 * start (src/model/geometry.ts poolOrigin) and 0 elsewhere, exactly as ./write-onnx.ts writes it.
 */
function staggeredPoolSize(w: OnnxTensor, bias: OnnxTensor | undefined, pads: number[], strides: number[], groups: number, layout: Layout): number | undefined {
  if (layout.kind !== 'image') return undefined
  const [filters, inC, kh, kw] = w.dims
  const n = strides[0]
  const { c: C, h, w: width } = layout
  if (n < 2 || strides[1] !== n || kh !== 2 * n - 1 || kw !== kh || groups !== C || filters !== C || inC !== 1) return undefined
  if (pads.join() !== [0, 0, n - 1, n - 1].join() || h % n || width % n || bias?.data.some((v) => v !== 0)) return undefined
  const share = Math.fround(1 / (n * n))
  for (let c = 0; c < C; c++) {
    const o = poolOrigin(n, true, c)
    for (let ky = 0; ky < kh; ky++)
      for (let kx = 0; kx < kh; kx++) {
        const inside = ky >= o.y && ky < o.y + n && kx >= o.x && kx < o.x + n
        if (w.data[(c * kh + ky) * kh + kx] !== (inside ? share : 0)) return undefined
      }
  }
  return n
}
