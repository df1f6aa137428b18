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
}

export function outputSide(size: number, g: ConvGeometry): number {
  return Math.floor((size + 2 * g.padding - g.kernel) / g.stride) + 1
}

export function convShape(g: ConvGeometry) {
  const outH = outputSide(g.inputHeight, g)
  const outW = outputSide(g.inputWidth, g)
  return { outH, outW, positions: outH * outW, taps: g.kernel * g.kernel }
}

/**
 * im2col of one single-channel image (row-major, already normalised) into
 * `out` at `outOffset`, tap-major. `shiftY/shiftX` translate the image (used
 * only for training augmentation); pixels falling outside read as `fill`.
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
  for (let ky = 0; ky < g.kernel; ky++) {
    for (let kx = 0; kx < g.kernel; kx++) {
      const base = outOffset + (ky * g.kernel + kx) * positions
      for (let oy = 0; oy < outH; oy++) {
        const y = oy * g.stride + ky - g.padding - shiftY
        for (let ox = 0; ox < outW; ox++) {
          const x = ox * g.stride + kx - g.padding - shiftX
          const inside = y >= 0 && y < g.inputHeight && x >= 0 && x < g.inputWidth
          out[base + oy * outW + ox] = inside ? image[y * g.inputWidth + x] : fill
        }
      }
    }
  }
}
