/**
 * Plaintext reference forward pass over a manifest's layers, in float64. The
 * accuracy test and the engine tests compare against it.
 */
import { convShape, im2col, type ConvGeometry } from './geometry'
import { tensor, type InputSpec, type Layer, type LayerGeometry, type ModelManifest, type Weights } from './manifest'

export function firstConvGeometry(m: { input: InputSpec; layers: LayerGeometry[] }): ConvGeometry {
  const first = m.layers[0]
  if (!first || first.type !== 'conv2d') throw new Error('model: the first layer must be conv2d')
  return {
    inputHeight: m.input.height,
    inputWidth: m.input.width,
    kernel: first.kernel,
    stride: first.stride,
    padding: first.padding,
  }
}

/** (pixel/255 - mean)/std for a row-major 8-bit grayscale image, 0 = background. */
export function normalise(pixels: ArrayLike<number>, m: { input: InputSpec }): Float64Array {
  const out = new Float64Array(pixels.length)
  for (let i = 0; i < pixels.length; i++) out[i] = (pixels[i] / 255 - m.input.mean) / m.input.std
  return out
}

export function forward(m: ModelManifest, w: Weights, normalised: ArrayLike<number>): Float64Array {
  const g = firstConvGeometry(m)
  const { positions, taps } = convShape(g)
  const patches = new Float64Array(positions * taps)
  im2col(normalised, g, patches, 0, -m.input.mean / m.input.std)
  let x: Float64Array = patches
  for (const layer of m.layers) x = apply(layer, w, x, positions)
  return x
}

function apply(layer: Layer, w: Weights, x: Float64Array, positions: number): Float64Array {
  switch (layer.type) {
    case 'conv2d': {
      const taps = layer.kernel * layer.kernel
      const k = tensor(w, layer.weights, taps * layer.filters)
      const b = tensor(w, layer.bias, layer.filters)
      // output flattened position-major: index = p * filters + c
      const y = new Float64Array(positions * layer.filters)
      for (let p = 0; p < positions; p++) {
        for (let c = 0; c < layer.filters; c++) {
          let s = b[c]
          for (let t = 0; t < taps; t++) s += x[t * positions + p] * k[t * layer.filters + c]
          y[p * layer.filters + c] = s
        }
      }
      return y
    }
    case 'square':
      return x.map((v) => v * v)
    case 'dense': {
      const inputs = x.length
      const k = tensor(w, layer.weights, inputs * layer.units)
      const b = tensor(w, layer.bias, layer.units)
      const y = Float64Array.from(b)
      for (let i = 0; i < inputs; i++) {
        const xi = x[i]
        if (xi === 0) continue
        const row = i * layer.units
        for (let o = 0; o < layer.units; o++) y[o] += xi * k[row + o]
      }
      return y
    }
  }
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i
  return best
}
