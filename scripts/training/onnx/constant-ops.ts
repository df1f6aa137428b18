/**
 * The small integer computations exporters emit around a Reshape (PyTorch's `x.view(x.size(0), -1)`
 * becomes Shape, Gather, Unsqueeze, Concat), evaluated on constants with a batch of one, and
 * Constant nodes. Returns undefined for an op it does not evaluate.
 */
import { OnnxImportError } from './import-error'
import type { OnnxNode, OnnxTensor } from './read-onnx'

const tensor = (dims: number[], data: ArrayLike<number>): OnnxTensor => ({ dims, data: Float64Array.from(data) })

export function constantNode(node: OnnxNode): OnnxTensor {
  const a = node.attributes
  const v = a.get('value') ?? a.get('value_float') ?? a.get('value_floats') ?? a.get('value_int') ?? a.get('value_ints')
  if (v === undefined || typeof v === 'string') throw new OnnxImportError(`node '${node.name}' (Constant): only numeric values are supported`, node)
  if (typeof v === 'number') return tensor([], [v])
  if (Array.isArray(v)) return tensor([v.length], v)
  return v
}

/** `inputs[i]` is the constant behind the node's i-th input, or undefined where that input is not constant. */
export function evaluateConstantOp(node: OnnxNode, inputs: Array<OnnxTensor | undefined>): OnnxTensor | undefined {
  const all = inputs.every((t) => t !== undefined)
  const [x] = inputs as OnnxTensor[]
  switch (node.opType) {
    case 'Cast':
    case 'Identity':
      return all ? x : undefined
    case 'Gather': {
      if (!all || x.dims.length > 1 || Number(node.attributes.get('axis') ?? 0) !== 0) return undefined
      const idx = inputs[1]!
      const pick = Array.from(idx.data, (i) => x.data[i < 0 ? i + x.data.length : i])
      return tensor(idx.dims, pick)
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      if (!x) return undefined
      const axes = (node.attributes.get('axes') as number[] | undefined) ?? (inputs[1] ? Array.from(inputs[1].data) : undefined)
      const dims = [...x.dims]
      if (node.opType === 'Unsqueeze') for (const ax of [...(axes ?? [])].sort((p, q) => p - q)) dims.splice(ax < 0 ? ax + dims.length + 1 : ax, 0, 1)
      return tensor(node.opType === 'Unsqueeze' ? dims : dims.filter((d, i) => d !== 1 || (axes !== undefined && !axes.includes(i))), x.data)
    }
    case 'Concat':
      if (!all || inputs.some((t) => t!.dims.length !== 1)) return undefined
      return tensor([inputs.reduce((n, t) => n + t!.data.length, 0)], inputs.flatMap((t) => Array.from(t!.data)))
    default:
      return undefined
  }
}
