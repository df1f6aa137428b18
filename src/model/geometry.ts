/**
 * Geometry of the first (convolutional) layer, shared by training, the plaintext
 * reference and the browser client. The client may know this geometry; it never
 * knows a weight. Patches are laid out tap-major: value (tap t, output position p)
 * is element t * positions + p, which is what lets the server sum over taps with
 * rotations by multiples of `positions`.
 */
export interface ConvGeometry {
  inputHeight: number
  inputWidth: number
  kernel: number
  stride: number
  padding: number
  /** values per input pixel (HWC); default 1 */
  channels?: number
}

export function outputSide(size: number, g: ConvGeometry): number {
  return Math.floor((size + 2 * g.padding - g.kernel) / g.stride) + 1
}

export function convShape(g: ConvGeometry) {
  const outH = outputSide(g.inputHeight, g)
  const outW = outputSide(g.inputWidth, g)
  return { outH, outW, positions: outH * outW, taps: g.kernel * g.kernel * (g.channels ?? 1) }
}

/**
 * im2col of one image (HWC, `g.channels` values per pixel, already normalised)
 * into `out` at `outOffset`, tap-major: tap t = (ky * kernel + kx) * channels + c,
 * value (t, position p) at element t * positions + p. With one channel this is
 * the layout of the first model. `shiftY/shiftX` translate the image (training
 * augmentation only); values falling outside read as `fill`.
 */
export function im2col(
  image: ArrayLike<number>,
  g: ConvGeometry,
  out: Float32Array | Float64Array,
  outOffset = 0,
  fill = 0,
  shiftY = 0,
  shiftX = 0,
): void {
  const { outH, outW, positions } = convShape(g)
  const channels = g.channels ?? 1
  for (let ky = 0; ky < g.kernel; ky++) {
    for (let kx = 0; kx < g.kernel; kx++) {
      for (let c = 0; c < channels; c++) {
        const base = outOffset + ((ky * g.kernel + kx) * channels + c) * positions
        for (let oy = 0; oy < outH; oy++) {
          const y = oy * g.stride + ky - g.padding - shiftY
          for (let ox = 0; ox < outW; ox++) {
            const x = ox * g.stride + kx - g.padding - shiftX
            const inside = y >= 0 && y < g.inputHeight && x >= 0 && x < g.inputWidth
            out[base + oy * outW + ox] = inside ? image[(y * g.inputWidth + x) * channels + c] : fill
          }
        }
      }
    }
  }
}

/**
 * Where channel c's pooling windows start (an avgpool2d of `size`): at (0, 0),
 * or staggered, q = c mod size^2 pixels in, at (q div size, q mod size). A
 * staggered window that reaches past the bottom or right edge reads zeros there.
 */
export function poolOrigin(size: number, stagger: boolean | undefined, c: number): { y: number; x: number } {
  if (!stagger) return { y: 0, x: 0 }
  const q = c % (size * size)
  return { y: Math.floor(q / size), x: q % size }
}

/** An activation's shape; elements are indexed HWC: (y * width + x) * channels + c. */
export interface Shape {
  height: number
  width: number
  channels: number
}

/** Input channels each filter of a conv reads: all of them, or those of its group. */
export const channelsPerGroup = (inChannels: number, groups: number | undefined) => inChannels / (groups ?? 1)

export const elementsOf = (s: Shape) => s.height * s.width * s.channels

type LayerShapeInput =
  | { type: 'conv2d'; kernel: number; stride: number; padding: number; filters: number; groups?: number }
  | { type: 'avgpool2d'; size: number; stagger?: boolean }
  | { type: 'square' | 'poly' }
  | { type: 'dense'; units: number }
  | { type: 'bilinear'; units: number }

/**
 * The shape after each layer (index i: output of layer i), checking that
 * every layer fits its input. The plan, the reference forward pass and the
 * loader all use it, so a malformed manifest is refused with one message.
 */
export function layerShapes(input: Shape, layers: LayerShapeInput[]): Shape[] {
  const out: Shape[] = []
  let s = input
  layers.forEach((l, i) => {
    const where = `layer ${i} (${l.type})`
    switch (l.type) {
      case 'conv2d': {
        for (const [k, v] of Object.entries({ kernel: l.kernel, stride: l.stride, filters: l.filters })) {
          if (!Number.isInteger(v) || v < 1) throw new Error(`${where}: ${k} must be a positive integer`)
        }
        if (!Number.isInteger(l.padding) || l.padding < 0 || l.padding >= l.kernel) throw new Error(`${where}: padding must be an integer in 0..kernel-1`)
        const groups = l.groups ?? 1
        if (!Number.isInteger(groups) || groups < 1) throw new Error(`${where}: groups must be a positive integer`)
        if (s.channels % groups || l.filters % groups) throw new Error(`${where}: groups ${groups} must divide its ${s.channels} input channels and ${l.filters} filters`)
        const g = { inputHeight: s.height, inputWidth: s.width, kernel: l.kernel, stride: l.stride, padding: l.padding }
        const { outH, outW } = convShape(g)
        if (outH < 1 || outW < 1) throw new Error(`${where}: a ${l.kernel}x${l.kernel} kernel does not fit a ${s.height}x${s.width} input`)
        s = { height: outH, width: outW, channels: l.filters }
        break
      }
      case 'avgpool2d':
        if (!Number.isInteger(l.size) || l.size < 1 || s.height % l.size || s.width % l.size) {
          throw new Error(`${where}: size ${l.size} must divide the ${s.height}x${s.width} input`)
        }
        if (l.stagger !== undefined && typeof l.stagger !== 'boolean') throw new Error(`${where}: stagger must be true or false`)
        s = { height: s.height / l.size, width: s.width / l.size, channels: s.channels }
        break
      case 'dense':
        if (!Number.isInteger(l.units) || l.units < 1) throw new Error(`${where}: units must be a positive integer`)
        s = { height: 1, width: 1, channels: l.units }
        break
      case 'bilinear': {
        const inputs = s.height * s.width * s.channels
        if (!Number.isInteger(l.units) || l.units < 1) throw new Error(`${where}: units must be a positive integer`)
        if (inputs % (2 * l.units)) throw new Error(`${where}: its ${inputs} inputs must be 2 x ${l.units} units x K (two factors per product)`)
        s = { height: 1, width: 1, channels: l.units }
        break
      }
      case 'square':
      case 'poly':
        break
      default:
        throw new Error(`${where}: unknown layer type`)
    }
    out.push(s)
  })
  return out
}
