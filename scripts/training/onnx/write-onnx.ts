/**
 * The way back: a manifest's network as an ONNX graph (opset 17), so ONNX Runtime can check a
 * shipped model and any ONNX tool can read it. conv2d becomes Conv (weights back to
 * `[out, in, ky, kx]`), square Mul(x, x), poly the Mul/Add pattern PyTorch exports, avgpool2d
 * AveragePool, dense Gemm (after a Flatten whose C-major order the weights' rows are permuted
 * to). A staggered pool becomes a depthwise Conv with fixed weights: a (2k-1)-wide kernel holding
 * each channel's k x k window of 1/k^2 where its windows start, stride k, and k-1 zeros padded
 * below and to the right (where a staggered window past the edge reads zeros). A bilinear
 * read-out becomes Slice into the two halves, Mul, Reshape to [N, K, units] and ReduceSum over K.
 * The importer reads both patterns back as the layers they came from (./translate.ts).
 */
import { layerShapes, poolOrigin, type Shape } from '../../../src/model/geometry'
import { inputShape } from '../../../src/model/forward'
import { tensor, type ModelManifest, type Weights } from '../../../src/model/manifest'
import { onnxType } from './read-onnx'

const FLOAT = 1
const INT64 = 7
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 }
const OPSET = 17

interface Initializer {
  name: string
  dims: number[]
  dataType: number
  rawData: Uint8Array
}
const floats = (name: string, dims: number[], values: ArrayLike<number>): Initializer => ({ name, dims, dataType: FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer) })
const int64s = (name: string, values: number[]): Initializer => ({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) })
const ints = (name: string, v: number[]) => ({ name, type: ATTR.INTS, ints: v })
const int = (name: string, v: number) => ({ name, type: ATTR.INT, i: v })

export function manifestToOnnx(m: ModelManifest, w: Weights): Uint8Array {
  const nodes: object[] = []
  const initializers: Initializer[] = []
  const shapes = layerShapes(inputShape(m.input), m.layers)
  let x = 'image'
  let s: Shape = inputShape(m.input)
  let flat = false
  const node = (opType: string, inputs: string[], attribute: object[] = []) => {
    const out = `${opType.toLowerCase()}_${nodes.length}`
    nodes.push({ name: `/${out}`, opType, input: inputs, output: [out], attribute })
    return out
  }
  m.layers.forEach((l, i) => {
    const o = shapes[i]
    const id = `layer${i + 1}`
    switch (l.type) {
      case 'conv2d': {
        const { kernel: k, filters: F } = l
        const C = s.channels / (l.groups ?? 1)
        const kw = tensor(w, l.weights, k * k * C * F)
        const onnxW = new Float32Array(kw.length)
        for (let f = 0; f < F; f++) for (let c = 0; c < C; c++) for (let t = 0; t < k * k; t++) onnxW[(f * C + c) * k * k + t] = kw[(t * C + c) * F + f]
        initializers.push(floats(`${id}.weight`, [F, C, k, k], onnxW), floats(`${id}.bias`, [F], tensor(w, l.bias, F)))
        const p = l.padding
        x = node('Conv', [x, `${id}.weight`, `${id}.bias`], [ints('kernel_shape', [k, k]), ints('strides', [l.stride, l.stride]), ints('pads', [p, p, p, p]), ints('dilations', [1, 1]), int('group', l.groups ?? 1)])
        break
      }
      case 'square':
        x = node('Mul', [x, x])
        break
      case 'poly': {
        const coef = tensor(w, l.coefficients, s.channels * 3)
        const dims = flat ? [s.channels] : [s.channels, 1, 1]
        for (const [j, k] of ['a', 'b', 'c'].entries()) initializers.push(floats(`${id}.${k}`, dims, Array.from({ length: s.channels }, (_, c) => coef[3 * c + j])))
        const ax2 = node('Mul', [node('Mul', [`${id}.a`, x]), x])
        x = node('Add', [node('Add', [ax2, node('Mul', [`${id}.b`, x])]), `${id}.c`])
        break
      }
      case 'avgpool2d': {
        const n = l.size
        if (!l.stagger) {
          x = node('AveragePool', [x], [ints('kernel_shape', [n, n]), ints('strides', [n, n])])
          break
        }
        const k = 2 * n - 1
        const C = s.channels
        const kernel = new Float32Array(C * k * k)
        for (let c = 0; c < C; c++) {
          const o = poolOrigin(n, true, c)
          for (let dy = 0; dy < n; dy++) for (let dx = 0; dx < n; dx++) kernel[(c * k + o.y + dy) * k + o.x + dx] = 1 / (n * n)
        }
        initializers.push(floats(`${id}.window`, [C, 1, k, k], kernel))
        x = node('Conv', [x, `${id}.window`], [ints('kernel_shape', [k, k]), ints('strides', [n, n]), ints('pads', [0, 0, n - 1, n - 1]), ints('dilations', [1, 1]), int('group', C)])
        break
      }
      case 'dense': {
        const inputs = s.height * s.width * s.channels
        const kw = tensor(w, l.weights, inputs * l.units)
        // Gemm with transB: B is [units, inputs], inputs in ONNX's C-major flatten order
        const onnxW = new Float32Array(kw.length)
        for (let c = 0; c < s.channels; c++)
          for (let yx = 0; yx < s.height * s.width; yx++) {
            const row = yx * s.channels + c
            for (let u = 0; u < l.units; u++) onnxW[u * inputs + c * s.height * s.width + yx] = kw[row * l.units + u]
          }
        if (!flat) x = node('Flatten', [x], [int('axis', 1)])
        flat = true
        initializers.push(floats(`${id}.weight`, [l.units, inputs], onnxW), floats(`${id}.bias`, [l.units], tensor(w, l.bias, l.units)))
        x = node('Gemm', [x, `${id}.weight`, `${id}.bias`], [int('transB', 1)])
        break
      }
      case 'bilinear': {
        // the input is a dense layer's vector: its HWC order is ONNX's order
        if (s.height * s.width !== 1 || !flat) throw new Error(`layer ${i}: a bilinear read-out must follow a dense layer`)
        const half = s.channels / 2
        initializers.push(int64s(`${id}.zero`, [0]), int64s(`${id}.half`, [half]), int64s(`${id}.end`, [s.channels]), int64s(`${id}.axis`, [1]), int64s(`${id}.groups`, [-1, half / l.units, l.units]))
        const first = node('Slice', [x, `${id}.zero`, `${id}.half`, `${id}.axis`])
        const second = node('Slice', [x, `${id}.half`, `${id}.end`, `${id}.axis`])
        const grouped = node('Reshape', [node('Mul', [first, second]), `${id}.groups`])
        x = node('ReduceSum', [grouped, `${id}.axis`], [int('keepdims', 0)])
        break
      }
    }
    s = o
  })
  nodes.push({ name: '/logits', opType: 'Identity', input: [x], output: ['logits'] })
  const dim = (v: number | string) => (typeof v === 'string' ? { dimParam: v } : { dimValue: v })
  const valueInfo = (name: string, dims: Array<number | string>) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map(dim) } } } })
  const ModelProto = onnxType('onnx.ModelProto')
  const model = ModelProto.fromObject({
    irVersion: 8,
    producerName: 'blindfold',
    producerVersion: m.version,
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: m.name,
      node: nodes,
      initializer: initializers,
      input: [valueInfo('image', ['batch', m.input.channels, m.input.height, m.input.width])],
      output: [valueInfo('logits', ['batch', s.channels])],
    },
  })
  return ModelProto.encode(model).finish()
}
