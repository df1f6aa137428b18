/**
 * CKKS parameters for a network of a given depth: the smallest ring that
 * holds its modulus chain at 128-bit security (SEAL's tc128 table: 218 bits
 * at N = 8192, 438 at 16384). A shallow net keeps the MNIST parameters
 * (33-bit scales, every key and ciphertext half the size); a deeper one moves
 * to N = 16384 with 40-bit scales. q0 is larger than the scale so the result
 * has headroom; the special prime is the largest, as key switching needs.
 */
import type { HeParams } from '../model/manifest'
import { DEFAULT_HE_PARAMS } from './plan'

export const MAX_COEFF_BITS: Record<number, number> = { 4096: 109, 8192: 218, 16384: 438, 32768: 881 }

export function heParamsForDepth(depth: number): HeParams {
  if (depth <= DEFAULT_HE_PARAMS.coeffModulusBits.length - 2) return DEFAULT_HE_PARAMS
  const bits = [60, ...Array(depth).fill(40), 60]
  const total = bits.reduce((a, b) => a + b, 0)
  if (total > MAX_COEFF_BITS[16384]) {
    throw new Error(`a network of depth ${depth} needs ${total} bits of modulus; N = 16384 allows ${MAX_COEFF_BITS[16384]} at 128-bit security`)
  }
  return { scheme: 'ckks', polyModulusDegree: 16384, coeffModulusBits: bits, scaleBits: 40, securityLevel: 'tc128' }
}
