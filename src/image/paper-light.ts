/**
 * The paper's brightness at every pixel, read from the border: a phone photo of a drawing on
 * paper is lit unevenly (a shadow from one side, a lamp in a corner), so one paper value for the
 * whole sheet turns the darker half of the paper into ink. A smooth surface (a quadratic in x and
 * y) is fitted by least squares to the border's luminance, refitted without the samples it
 * explains badly (ink that touches the edge), and clamped to the range of the samples it kept, so
 * it never invents paper brighter or darker than the border shows. Uniform paper gives a flat
 * surface: the same ink as a single paper value.
 */

/** residuals beyond this many robust standard deviations (1.4826 * MAD) are not paper */
export const PAPER_OUTLIER_SIGMAS = 3
/** nor beyond this many levels when the border is nearly noiseless (a rendered sheet) */
export const PAPER_MIN_TOLERANCE = 4
export const PAPER_ROUNDS = 3

/** The value at index floor(n / 2) once sorted (0 for none): the median the published rule names. */
export function median(values: number[]): number {
  if (values.length === 0) return 0
  const s = [...values].sort((a, b) => a - b)
  return s[s.length >> 1]
}

/**
 * `lum`: luminance per pixel, negative where the pixel is transparent (not a sample).
 * `samples`: pixel indices to fit on (the border). Returns the paper's luminance per pixel.
 */
export function paperSurface(lum: Float32Array, width: number, height: number, samples: number[]): Float32Array {
  const out = new Float32Array(width * height)
  const all = samples.filter((i) => lum[i] >= 0)
  const flat = (value: number) => out.fill(value)
  if (all.length === 0) return flat(0)
  if (width < 3 || height < 3 || all.length < 12) return flat(median(all.map((i) => lum[i])))
  const u = (i: number) => (2 * (i % width)) / (width - 1) - 1
  const v = (i: number) => (2 * Math.floor(i / width)) / (height - 1) - 1
  const basis = (x: number, y: number) => [1, x, y, x * x, x * y, y * y]

  // the first round measures the samples against their median (a flat sheet): ink that covers a
  // good part of the edge must not bend the first surface; later rounds against the fitted one
  let kept = all
  let coef: number[] = [median(all.map((i) => lum[i])), 0, 0, 0, 0, 0]
  for (let round = 0; round < PAPER_ROUNDS; round++) {
    const c = coef
    const residual = (i: number) => lum[i] - dot(c, basis(u(i), v(i)))
    const r = all.map(residual)
    const centre = median(r)
    const tolerance = Math.max(PAPER_MIN_TOLERANCE, PAPER_OUTLIER_SIGMAS * 1.4826 * median(r.map((x) => Math.abs(x - centre))))
    const next = all.filter((i) => Math.abs(residual(i) - centre) <= tolerance)
    if (next.length < 12) break
    kept = next
    const fitted = leastSquares(kept.map((i) => basis(u(i), v(i))), kept.map((i) => lum[i]))
    if (!fitted) break
    coef = fitted
  }
  let lo = Infinity
  let hi = -Infinity
  for (const i of kept) {
    if (lum[i] < lo) lo = lum[i]
    if (lum[i] > hi) hi = lum[i]
  }
  for (let y = 0; y < height; y++) {
    const vy = (2 * y) / (height - 1) - 1
    for (let x = 0; x < width; x++) {
      const ux = (2 * x) / (width - 1) - 1
      const p = coef[0] + coef[1] * ux + coef[2] * vy + coef[3] * ux * ux + coef[4] * ux * vy + coef[5] * vy * vy
      out[y * width + x] = p < lo ? lo : p > hi ? hi : p
    }
  }
  return out
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, k) => s + x * b[k], 0)

/** Least squares by the normal equations (Gaussian elimination with partial pivoting); undefined when singular. */
function leastSquares(rows: number[][], values: number[]): number[] | undefined {
  const k = rows[0].length
  const a = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0))
  rows.forEach((row, n) => {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) a[i][j] += row[i] * row[j]
      a[i][k] += row[i] * values[n]
    }
  })
  for (let c = 0; c < k; c++) {
    let pivot = c
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) pivot = r
    if (Math.abs(a[pivot][c]) < 1e-9) return undefined
    ;[a[c], a[pivot]] = [a[pivot], a[c]]
    for (let r = 0; r < k; r++) {
      if (r === c) continue
      const f = a[r][c] / a[c][c]
      for (let j = c; j <= k; j++) a[r][j] -= f * a[c][j]
    }
  }
  return a.map((row, i) => row[k] / row[i])
}
