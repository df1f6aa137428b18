/**
 * CKKS parameters for a network of a given depth: the smallest ring that
 * holds its modulus chain at 128-bit security (SEAL's tc128 table: 218 bits
 * at N = 8192, 438 at 16384). A shallow net keeps the MNIST parameters
 * (33-bit scales, every key and ciphertext half the size); four levels still
 * fit N = 8192 with 30-bit scales (40 + 4 x 30 + 48 = 208 bits; logit errors
 * ~2e-4 relative, src/he/bilinear.test.ts); a deeper one moves to N = 16384
 * with 40-bit scales (five levels at 8192 need 28-bit primes: errors of 1e-2). q0 is larger than the scale so the result
 * has headroom; the special prime is the largest, as key switching needs.
 */
import type { HeParams, InputSpec, LayerGeometry } from '../model/manifest'
import { linearRuns } from './linear-ops'

/** The parameters of a network of up to three levels (mnist-cnn's). */
export const DEFAULT_HE_PARAMS: HeParams = {
  scheme: 'ckks',
  polyModulusDegree: 8192,
  // q0 holds the result (scale 2^33, logits up to 2^16); three 33-bit primes are
  // consumed by conv, square and dense; the 60-bit special prime keeps
  // key-switching noise far below the scale. 209 bits <= 218 allowed at tc128.
  coeffModulusBits: [50, 33, 33, 33, 60],
  scaleBits: 33,
  securityLevel: 'tc128',
}

export const MAX_COEFF_BITS: Record<number, number> = { 4096: 109, 8192: 218, 16384: 438, 32768: 881 }

export function heParamsForDepth(depth: number): HeParams {
  if (depth <= DEFAULT_HE_PARAMS.coeffModulusBits.length - 2) return DEFAULT_HE_PARAMS
  if (depth === 4) return FOUR_LEVELS_8192
  const bits = [60, ...Array(depth).fill(40), 60]
  const total = bits.reduce((a, b) => a + b, 0)
  if (total > MAX_COEFF_BITS[16384]) {
    throw new Error(`a network of depth ${depth} needs ${total} bits of modulus; N = 16384 allows ${MAX_COEFF_BITS[16384]} at 128-bit security`)
  }
  return { scheme: 'ckks', polyModulusDegree: 16384, coeffModulusBits: bits, scaleBits: 40, securityLevel: 'tc128' }
}

/**
 * Four levels at N = 8192 and tc128 (at most 218 bits there), the special prime the largest. 30-bit
 * rather than 31-bit scales keep a Fashion-MNIST request under the request-size target with logits
 * still accurate (docs/decisions/four-levels-at-8192.md).
 */
export const FOUR_LEVELS_8192: HeParams = { scheme: 'ckks', polyModulusDegree: 8192, coeffModulusBits: [40, 30, 30, 30, 30, 48], scaleBits: 30, securityLevel: 'tc128' }

/** The parameters for a network's depth: every linear run is one level, and every activation after one (a bilinear read-out included) another. */
export function heParamsForNetwork(model: { input: Pick<InputSpec, 'height' | 'width' | 'channels'>; layers: LayerGeometry[] }): HeParams {
  const runs = linearRuns(model)
  return heParamsForDepth(runs.length + runs.filter((r) => r.activation).length)
}

/**
 * `N:BITS:SCALE` as a model owner writes it on the command line, e.g.
 * `8192:38,28,28,28,28,28,40:28` or `8192:38,28x5,40:28` (`BxK`: K primes of B
 * bits). The special prime comes last. Whether SEAL accepts the set at tc128
 * is SEAL's check (context.ts), made when a context is built.
 */
export function parseHeParams(text: string): HeParams {
  const m = /^(\d+):([\dx,]+):(\d+)$/.exec(text.trim())
  if (!m) throw new Error(`--he ${text}: expected N:BITS:SCALE, e.g. 8192:38,28x5,40:28`)
  const bits = m[2].split(',').flatMap((part) => {
    const r = /^(\d+)(?:x(\d+))?$/.exec(part)
    if (!r) throw new Error(`--he ${text}: '${part}' is not B or BxK`)
    return Array<number>(Number(r[2] ?? 1)).fill(Number(r[1]))
  })
  return { scheme: 'ckks', polyModulusDegree: Number(m[1]), coeffModulusBits: bits, scaleBits: Number(m[3]), securityLevel: 'tc128' }
}
