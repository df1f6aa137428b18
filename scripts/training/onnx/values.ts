/**
 * What the translator knows about each ONNX value: a constant, or the network's activation (the
 * output of the last layer so far) seen through a pending per-channel polynomial a*x^2 + b*x + c
 * and pending zero padding. Element-wise Mul/Add/Sub/Div/Pow and BatchNormalization only change the
 * polynomial; the next Conv, pool, dense layer or the graph's output turns it into a layer (square,
 * poly) or folds it into the linear layer before it (translate.ts).
 */
import { OnnxImportError } from './import-error'
import type { OnnxNode, OnnxTensor } from './read-onnx'

/** How the activation's elements are laid out for ONNX: an NCHW image, that image flattened (C-major), or a dense layer's vector. */
export type Layout = { kind: 'image'; c: number; h: number; w: number } | { kind: 'flat'; c: number; h: number; w: number } | { kind: 'vector'; units: number }

export interface Poly {
  a: Float64Array
  b: Float64Array
  c: Float64Array
}
export interface Activation {
  kind: 'activation'
  /** which layer's output (0: the input image); a value of an older activation means the graph branches */
  head: number
  layout: Layout
  poly?: Poly
  /** the node that last changed `poly` */
  origin?: string
  /** zeros to add around an image before the next Conv: top, left, bottom, right */
  pads?: number[]
}
export interface Constant {
  kind: 'constant'
  tensor: OnnxTensor
}
/**
 * A step of the bilinear read-out pattern on a dense layer's vector of `features` values (see
 * write-onnx.ts): one of its halves (Slice), their product (Mul), the product grouped as
 * [N, K, units] (Reshape); ReduceSum over K then makes it a bilinear layer. Nothing else may read it.
 */
export type BilinearPart = { kind: 'bilinear-part'; head: number; features: number } & ({ stage: 'half'; which: 0 | 1 } | { stage: 'product' } | { stage: 'grouped'; units: number })
export type Value = Activation | Constant | BilinearPart

/** Channels as the manifest counts them: per-channel coefficients of an image, per unit of a vector. */
export const channelsOf = (l: Layout): number => (l.kind === 'vector' ? l.units : l.c)
export const featuresOf = (l: Layout): number => (l.kind === 'vector' ? l.units : l.c * l.h * l.w)
export const onnxDims = (l: Layout): number[] => (l.kind === 'image' ? [1, l.c, l.h, l.w] : [1, featuresOf(l)])

export const identityPoly = (n: number): Poly => ({ a: new Float64Array(n), b: new Float64Array(n).fill(1), c: new Float64Array(n) })

export function degree(p: Poly | undefined): 0 | 1 | 2 {
  if (!p) return 0
  if (p.a.some((v) => v !== 0)) return 2
  return p.b.some((v) => v !== 1) || p.c.some((v) => v !== 0) ? 1 : 0
}

/**
 * A constant as one value per channel of `layout`, broadcast as ONNX broadcasts it against the
 * activation (`[C,1,1]`, `[1,C,1,1]` or a scalar for an image; `[units]` or a scalar for a vector;
 * a flattened image takes only scalars). Throws naming the node when it varies in another way.
 */
export function perChannel(t: OnnxTensor, layout: Layout, node: OnnxNode): Float64Array {
  const n = channelsOf(layout)
  if (t.data.length === 1) return new Float64Array(n).fill(t.data[0])
  const rank = layout.kind === 'image' ? 4 : 2
  const dims = t.dims.length > rank ? null : [...Array(rank - t.dims.length).fill(1), ...t.dims]
  const ok = dims && layout.kind !== 'flat' && dims.every((d, i) => (i === 1 ? d === n || d === 1 : d === 1))
  if (!ok) throw new OnnxImportError(`node '${node.name}' (${node.opType}): its constant of dims [${t.dims}] does not act per channel on an activation of dims [${onnxDims(layout)}]; only per-channel (or single) coefficients can be imported`, node)
  return dims[1] === n ? Float64Array.from(t.data) : new Float64Array(n).fill(t.data[0])
}

const map = (p: Poly, f: (x: Float64Array, k: 'a' | 'b' | 'c') => Float64Array): Poly => ({ a: f(p.a, 'a'), b: f(p.b, 'b'), c: f(p.c, 'c') })

export const scalePoly = (p: Poly, k: Float64Array): Poly => map(p, (x) => x.map((v, i) => v * k[i]))
export const shiftPoly = (p: Poly, k: Float64Array): Poly => ({ ...p, c: p.c.map((v, i) => v + k[i]) })
export const addPolys = (p: Poly, q: Poly, sign = 1): Poly => map(p, (x, k) => x.map((v, i) => v + sign * q[k][i]))

/** (b1 x + c1)(b2 x + c2); both factors must be at most affine. */
export function multiplyPolys(p: Poly, q: Poly): Poly {
  return {
    a: p.b.map((v, i) => v * q.b[i]),
    b: p.b.map((v, i) => v * q.c[i] + q.b[i] * p.c[i]),
    c: p.c.map((v, i) => v * q.c[i]),
  }
}
