/**
 * The layers the translator builds, still in float64 and holding their own weights, and how they
 * become manifest layers with named float32 tensors in the manifest's layouts
 * (docs/model-format.md): a conv weight `[out, in, ky, kx]` (in: channels per group) becomes rows `(ky*k + kx)*in + ci`
 * by columns `out`; a dense weight is built in its manifest layout from the start (translate.ts).
 */
import type { Layer } from '../../../src/model/manifest'

interface Named {
  /** the ONNX node the layer came from, for messages */
  node: string
}
export type PendingLayer = Named &
  (
    /** inChannels: the channels each filter reads (of its group: all channels / groups) */
    | { type: 'conv2d'; kernel: number; stride: number; padding: number; filters: number; groups: number; inChannels: number; weights: Float64Array; bias: Float64Array }
    | { type: 'avgpool2d'; size: number; stagger?: boolean }
    | { type: 'square' }
    | { type: 'poly'; coefficients: Float64Array }
    | { type: 'dense'; units: number; weights: Float64Array; bias: Float64Array }
    | { type: 'bilinear'; units: number }
  )

/** Scales output channel (conv) or unit (dense) `o` by `s[o]` and adds `t[o]`: a batch norm or affine map after the layer. */
export function foldAffine(l: PendingLayer, s: Float64Array, t: Float64Array): void {
  if (l.type === 'conv2d') {
    const per = l.weights.length / l.filters
    for (let o = 0; o < l.filters; o++) for (let j = 0; j < per; j++) l.weights[o * per + j] *= s[o]
  } else if (l.type === 'dense') {
    for (let i = 0; i < l.weights.length; i++) l.weights[i] *= s[i % l.units]
  } else throw new Error(`cannot fold an affine map into ${l.type}`)
  l.bias = l.bias.map((b, o) => b * s[o] + t[o])
}

export interface ManifestParts {
  layers: Layer[]
  tensors: Array<[string, Float32Array, number[]]>
}

export function toManifestLayers(pending: PendingLayer[]): ManifestParts {
  const layers: Layer[] = []
  const tensors: ManifestParts['tensors'] = []
  pending.forEach((l, i) => {
    const name = `${l.type === 'conv2d' ? 'conv' : l.type}${i + 1}`
    switch (l.type) {
      case 'conv2d': {
        const { kernel: k, inChannels: C, filters: F } = l
        const w = new Float32Array(k * k * C * F)
        for (let f = 0; f < F; f++)
          for (let c = 0; c < C; c++)
            for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) w[((ky * k + kx) * C + c) * F + f] = l.weights[((f * C + c) * k + ky) * k + kx]
        tensors.push([`${name}.weights`, w, [k * k * C, F]], [`${name}.bias`, Float32Array.from(l.bias), [F]])
        layers.push({ type: 'conv2d', kernel: k, stride: l.stride, padding: l.padding, filters: F, ...(l.groups !== 1 ? { groups: l.groups } : {}), weights: `${name}.weights`, bias: `${name}.bias` })
        break
      }
      case 'dense':
        tensors.push([`${name}.weights`, Float32Array.from(l.weights), [l.weights.length / l.units, l.units]], [`${name}.bias`, Float32Array.from(l.bias), [l.units]])
        layers.push({ type: 'dense', units: l.units, weights: `${name}.weights`, bias: `${name}.bias` })
        break
      case 'poly':
        tensors.push([`${name}.coefficients`, Float32Array.from(l.coefficients), [l.coefficients.length / 3, 3]])
        layers.push({ type: 'poly', coefficients: `${name}.coefficients` })
        break
      case 'avgpool2d':
        layers.push({ type: 'avgpool2d', size: l.size, ...(l.stagger ? { stagger: true } : {}) })
        break
      case 'bilinear':
        layers.push({ type: 'bilinear', units: l.units })
        break
      case 'square':
        layers.push({ type: 'square' })
    }
  })
  return { layers, tensors }
}
