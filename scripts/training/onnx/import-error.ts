/**
 * The importer's one kind of failure: a message a model owner can act on, naming the ONNX node
 * (and its op type) where the graph leaves the HE-friendly subset, with what to use instead.
 */
export class OnnxImportError extends Error {
  constructor(
    message: string,
    /** the node that was refused, when one node is to blame */
    readonly node?: { name: string; opType: string },
  ) {
    super(message)
    this.name = 'OnnxImportError'
  }
}

/** What to train with instead of an operator that cannot run under CKKS. */
const REPLACEMENTS: Record<string, string> = {
  Relu: 'train with square (x * x) or a learned polynomial a*x^2 + b*x + c instead',
  LeakyRelu: 'train with square (x * x) or a learned polynomial a*x^2 + b*x + c instead',
  PRelu: 'train with square (x * x) or a learned polynomial a*x^2 + b*x + c instead',
  Sigmoid: 'train with square (x * x) or a learned polynomial a*x^2 + b*x + c instead',
  Tanh: 'train with square (x * x) or a learned polynomial a*x^2 + b*x + c instead',
  Gelu: 'train with square (x * x) or a learned polynomial a*x^2 + b*x + c instead',
  Elu: 'train with square (x * x) or a learned polynomial a*x^2 + b*x + c instead',
  Clip: 'train with square (x * x) or a learned polynomial instead (comparisons cannot run on ciphertexts)',
  MaxPool: 'use AveragePool (nn.AvgPool2d) instead: a maximum needs comparisons, which CKKS cannot do',
  GlobalMaxPool: 'use GlobalAveragePool (nn.AdaptiveAvgPool2d(1)) instead',
  Softmax: 'a Softmax is dropped only as the last node; inside the network it cannot run under CKKS',
  LogSoftmax: 'a LogSoftmax is dropped only as the last node; inside the network it cannot run under CKKS',
  Concat: 'keep the network a single chain of layers (no skip connections or concatenations)',
}

export function refuseNode(node: { name: string; opType: string }, why?: string): OnnxImportError {
  const hint = why ?? REPLACEMENTS[node.opType] ?? 'the importer reads Conv, BatchNormalization, AveragePool, GlobalAveragePool, x*x / Pow(x, 2), a*x^2 + b*x + c, Flatten/Reshape, Gemm, MatMul + Add (docs/your-own-model.md)'
  return new OnnxImportError(`node '${node.name}' (${node.opType}) is not supported: ${hint}`, { name: node.name, opType: node.opType })
}
