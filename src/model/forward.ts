/**
 * Plaintext reference forward pass over a manifest's layers, in float64, with
 * plain loops over HWC activations. The accuracy tests and the engine tests
 * compare against it; it shares no code with the HE plan on purpose, so a
 * mistake in how the plan lays out a layer cannot hide behind the same
 * mistake here.
 */
import { layerShapes, poolOrigin, type ConvGeometry, type Shape } from './geometry'
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
    channels: m.input.channels,
  }
}

export const inputShape = (input: Pick<InputSpec, 'height' | 'width' | 'channels'>): Shape => ({ height: input.height, width: input.width, channels: input.channels })

/** (pixel/255 - mean[c])/std[c] for an 8-bit image, HWC (grey: one value per pixel). */
export function normalise(pixels: ArrayLike<number>, m: { input: InputSpec }): Float64Array {
  const { channels, mean, std } = m.input
  const out = new Float64Array(pixels.length)
  for (let i = 0; i < pixels.length; i++) {
    const c = i % channels
    out[i] = (pixels[i] / 255 - mean[c]) / std[c]
  }
  return out
}

export function forward(m: ModelManifest, w: Weights, normalised: ArrayLike<number>): Float64Array {
  const input = inputShape(m.input)
  if (normalised.length !== input.height * input.width * input.channels) {
    throw new Error(`forward: ${normalised.length} values, the model takes ${input.height}x${input.width}x${input.channels}`)
  }
  const shapes = layerShapes(input, m.layers)
  let x: Float64Array = Float64Array.from(normalised)
  let shape = input
  m.layers.forEach((layer, i) => {
    x = apply(layer, w, x, shape, shapes[i])
    shape = shapes[i]
  })
  return x
}

function apply(layer: Layer, w: Weights, x: Float64Array, s: Shape, o: Shape): Float64Array {
  switch (layer.type) {
    case 'conv2d': {
      const { kernel: k, stride, padding, filters } = layer
      const C = s.channels
      // filter f reads the G input channels of its group, from channel c0 on
      const G = C / (layer.groups ?? 1)
      const perGroup = filters / (layer.groups ?? 1)
      const kw = tensor(w, layer.weights, k * k * G * filters)
      const b = tensor(w, layer.bias, filters)
      const y = new Float64Array(o.height * o.width * filters)
      for (let oy = 0; oy < o.height; oy++)
        for (let ox = 0; ox < o.width; ox++)
          for (let f = 0; f < filters; f++) {
            const c0 = Math.floor(f / perGroup) * G
            let sum = b[f]
            for (let ky = 0; ky < k; ky++) {
              const iy = oy * stride + ky - padding
              if (iy < 0 || iy >= s.height) continue
              for (let kx = 0; kx < k; kx++) {
                const ix = ox * stride + kx - padding
                if (ix < 0 || ix >= s.width) continue
                for (let c = 0; c < G; c++) sum += x[(iy * s.width + ix) * C + c0 + c] * kw[((ky * k + kx) * G + c) * filters + f]
              }
            }
            y[(oy * o.width + ox) * filters + f] = sum
          }
      return y
    }
    case 'avgpool2d': {
      const n = layer.size
      const y = new Float64Array(o.height * o.width * o.channels)
      for (let oy = 0; oy < o.height; oy++)
        for (let ox = 0; ox < o.width; ox++)
          for (let c = 0; c < o.channels; c++) {
            const origin = poolOrigin(n, layer.stagger, c)
            let sum = 0
            for (let dy = 0; dy < n; dy++) {
              const iy = origin.y + oy * n + dy
              if (iy >= s.height) continue // a staggered window past the edge reads zeros
              for (let dx = 0; dx < n; dx++) {
                const ix = origin.x + ox * n + dx
                if (ix < s.width) sum += x[(iy * s.width + ix) * s.channels + c]
              }
            }
            y[(oy * o.width + ox) * o.channels + c] = sum / (n * n)
          }
      return y
    }
    case 'square':
      return x.map((v) => v * v)
    case 'poly': {
      const coef = tensor(w, layer.coefficients, s.channels * 3)
      return x.map((v, i) => {
        const c = (i % s.channels) * 3
        return coef[c] * v * v + coef[c + 1] * v + coef[c + 2]
      })
    }
    case 'dense': {
      const inputs = x.length
      const k = tensor(w, layer.weights, inputs * layer.units)
      const b = tensor(w, layer.bias, layer.units)
      const y = Float64Array.from(b)
      for (let i = 0; i < inputs; i++) {
        const xi = x[i]
        if (xi === 0) continue
        const row = i * layer.units
        for (let u = 0; u < layer.units; u++) y[u] += xi * k[row + u]
      }
      return y
    }
    case 'bilinear': {
      const half = x.length / 2
      const y = new Float64Array(layer.units)
      for (let j = 0; j < half; j++) y[j % layer.units] += x[j] * x[half + j]
      return y
    }
  }
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i
  return best
}
