/**
 * Reads an .onnx file with protobufjs and ONNX's own schema (./onnx.proto) into the plain
 * graph the translator walks: nodes in file order (ONNX stores them topologically sorted),
 * every constant (initializers and Constant nodes) as float64 values with its dims, the one
 * input with its shape and the one output. Refuses what the importer cannot read: a file that
 * is not ONNX or is cut short, weights kept in external files, several inputs or outputs,
 * opsets before 11, weights that hold NaN or infinities.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { OnnxImportError } from './import-error'

export interface OnnxTensor {
  dims: number[]
  data: Float64Array
}
export type OnnxAttribute = number | number[] | string | OnnxTensor
export interface OnnxNode {
  name: string
  opType: string
  inputs: string[]
  outputs: string[]
  attributes: Map<string, OnnxAttribute>
}
export interface OnnxGraph {
  opset: number
  producer: string
  nodes: OnnxNode[]
  constants: Map<string, OnnxTensor>
  input: { name: string; dims: Array<number | null> }
  output: string
}

const SCHEMA = fileURLToPath(new URL('./onnx.proto', import.meta.url))
let schema: protobuf.Root | undefined
/** A message type of ONNX's schema, e.g. `onnx.ModelProto`. */
export const onnxType = (name: string): protobuf.Type => (schema ??= protobuf.loadSync(SCHEMA)).lookupType(name)
const ModelProto = () => onnxType('onnx.ModelProto')

type Long = number | { toNumber(): number }
const num = (v: Long): number => (typeof v === 'number' ? v : v.toNumber())

/* eslint-disable @typescript-eslint/no-explicit-any -- protobufjs messages are untyped */
enum DataType { FLOAT = 1, INT32 = 6, INT64 = 7, DOUBLE = 11 }
const EXTERNAL = 1

export function readTensor(t: any, where: string): OnnxTensor {
  const dims = (t.dims ?? []).map(num)
  const size = dims.reduce((a: number, b: number) => a * b, 1)
  if (t.dataLocation === EXTERNAL || (t.externalData ?? []).length) {
    throw new OnnxImportError(`${where}: its weights are kept in an external data file; save the model with its weights inside (onnx.save_model(model, path, save_as_external_data=False))`)
  }
  const raw: Uint8Array | undefined = t.rawData?.length ? t.rawData : undefined
  let data: Float64Array
  const view = raw && new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  switch (t.dataType) {
    case DataType.FLOAT:
      data = view ? Float64Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(4 * i, true)) : Float64Array.from(t.floatData ?? [])
      break
    case DataType.DOUBLE:
      data = view ? Float64Array.from({ length: raw.byteLength / 8 }, (_, i) => view.getFloat64(8 * i, true)) : Float64Array.from(t.doubleData ?? [])
      break
    case DataType.INT64:
      data = view ? Float64Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true))) : Float64Array.from((t.int64Data ?? []).map(num))
      break
    case DataType.INT32:
      data = view ? Float64Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getInt32(4 * i, true)) : Float64Array.from(t.int32Data ?? [])
      break
    default:
      throw new OnnxImportError(`${where}: tensor type ${t.dataType} is not supported (export float32 weights)`)
  }
  if (data.length !== size) throw new OnnxImportError(`${where}: ${data.length} values for dims [${dims}] (a truncated file?)`)
  const bad = data.findIndex((v) => !Number.isFinite(v))
  if (bad >= 0) throw new OnnxImportError(`${where}: weight ${bad} is ${data[bad]}; the model holds NaN or infinite weights (check its training)`)
  return { dims, data }
}

function readAttribute(a: any, where: string): OnnxAttribute {
  if (a.t) return readTensor(a.t, `${where} attribute ${a.name}`)
  if (a.ints?.length) return a.ints.map(num)
  if (a.floats?.length) return [...a.floats]
  if (a.s?.length) return new TextDecoder().decode(a.s)
  if (a.type === 1) return a.f
  return num(a.i ?? 0)
}

function decode(bytes: Uint8Array, path: string): any {
  const notOnnx = (why: string) => new OnnxImportError(`${path} is not an ONNX model or is truncated (${why})`)
  let model: any
  try {
    model = ModelProto().decode(bytes)
  } catch (e) {
    throw notOnnx((e as Error).message)
  }
  if (!model.graph || !num(model.irVersion ?? 0) || !model.opsetImport?.length) throw notOnnx('no graph, IR version or opset')
  return model
}

export function readOnnx(path: string): OnnxGraph {
  const model = decode(new Uint8Array(readFileSync(path)), path)
  const g = model.graph
  const opsets = model.opsetImport.filter((o: any) => !o.domain || o.domain === 'ai.onnx')
  const opset = Math.max(0, ...opsets.map((o: any) => num(o.version)))
  if (opset < 11) throw new OnnxImportError(`${path}: opset ${opset}; the importer reads opset 11 and later (torch.onnx.export(..., opset_version=17))`)
  const constants = new Map<string, OnnxTensor>()
  for (const t of g.initializer ?? []) constants.set(t.name, readTensor(t, `initializer '${t.name}'`))
  const inputs = (g.input ?? []).filter((i: any) => !constants.has(i.name))
  if (inputs.length !== 1) throw new OnnxImportError(`${path}: the graph has ${inputs.length} inputs (${inputs.map((i: any) => i.name).join(', ')}); the importer takes one image input`)
  if ((g.output ?? []).length !== 1) throw new OnnxImportError(`${path}: the graph has ${g.output?.length ?? 0} outputs (${(g.output ?? []).map((o: any) => o.name).join(', ')}); the importer takes one output, the logits`)
  const dims = (inputs[0].type?.tensorType?.shape?.dim ?? []).map((d: any) => (d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : null))
  const nodes: OnnxNode[] = (g.node ?? []).map((n: any, i: number) => {
    const name = n.name || `${n.opType} #${i}`
    const attributes = new Map<string, OnnxAttribute>((n.attribute ?? []).map((a: any) => [a.name, readAttribute(a, `node '${name}'`)]))
    return { name, opType: n.opType, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attributes }
  })
  if (!nodes.length) throw new OnnxImportError(`${path}: the graph has no nodes`)
  return { opset, producer: `${model.producerName ?? ''} ${model.producerVersion ?? ''}`.trim(), nodes, constants, input: { name: inputs[0].name, dims }, output: g.output[0].name }
}
