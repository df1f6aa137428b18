/**
 * The exact byte size of every SEAL object a plan exchanges, saved without
 * compression (the 16-byte SEAL header included). The bounded inflater needs
 * them: a compressed section must inflate to exactly one of these, so no
 * client (and no server, for the browser) can make the other side allocate
 * more than the plan itself needs.
 *
 * Ciphertexts and key sets follow closed forms, checked against what SEAL
 * writes in object-sizes.test.ts, so a server learns the sizes it accepts
 * without generating and saving keys of its own for every model it builds.
 * Isomorphic: no DOM, no Node APIs.
 */
import { galoisElement } from './rotation-search'

/** Uncompressed sizes of a ciphertext of 2 polynomials with `dataPrimes` primes: seeded (symmetric, c1 as a seed) and full. */
export function ciphertextSizes(polyModulusDegree: number, dataPrimes: number): { seeded: number; full: number } {
  const poly = 8 * polyModulusDegree * dataPrimes
  // header 16 + parms id 32 + NTT flag 1 + size, N, primes 3x8 + scale 8 + correction 8 = 89,
  // then the coefficient array (its own 16-byte header + u64 count) = 113 before the data;
  // a seeded ciphertext stores one polynomial plus the generator info (16-byte header, 1-byte
  // type, 64-byte seed = 81)
  return { full: 113 + 2 * poly, seeded: 194 + poly }
}

export interface KeySizes {
  /** relinearisation keys: seeded and full */
  relin: number[]
  /** Galois keys for exactly the given steps: seeded and full */
  galois: number[]
}

/**
 * Uncompressed sizes of the relinearisation keys and of the Galois keys for `rotationSteps`,
 * as SEAL saves them. Either is a key-switching key set: header 16, parms id 32, the table's
 * length 8, then per table entry its length 8 and its keys, `dataPrimes` ciphertexts at the key
 * level (special prime included) per key. The relinearisation table has one entry; the Galois
 * table has one entry per coefficient (N), filled only at the steps' Galois elements (steps
 * that name one element, such as -1 and N/2 - 1, share a key). SEAL refuses |step| >= N/2, and
 * so does this.
 */
export function keySizes(polyModulusDegree: number, dataPrimes: number, rotationSteps: readonly number[]): KeySizes {
  const N = polyModulusDegree
  const half = N / 2
  for (const s of rotationSteps) {
    if (!Number.isInteger(s) || Math.abs(s) >= half) throw new RangeError(`rotation step ${s} is not an integer below N/2 = ${half} in size`)
  }
  const elements = new Set(rotationSteps.map((s) => galoisElement(s, N))).size
  const key = ciphertextSizes(N, dataPrimes + 1)
  const table = (entries: number, keys: number, ct: number) => 16 + 32 + 8 + 8 * entries + keys * dataPrimes * ct
  return {
    relin: [table(1, 1, key.seeded), table(1, 1, key.full)],
    galois: [table(N, elements, key.seeded), table(N, elements, key.full)],
  }
}

/**
 * Upper bounds of a valid upload's bytes for a model, before any knowledge of
 * its Galois elements: what a route's body limit must admit. Keys: one
 * relinearisation key and one Galois key per step, each `dataPrimes` seeded
 * ciphertexts at the key level (special prime included), in SEAL's tables
 * (keySizes: any that many distinct steps make keys of one size); the request: its input
 * ciphertexts seeded (what KeyOwner sends; an unseeded request is twice this
 * and is admitted only below the configured floor). zstd never grows data by
 * more than a few bytes, so compressed uploads stay within them.
 */
export function uploadBounds(he: { polyModulusDegree: number; coeffModulusBits: number[] }, rotationSteps: number, inputCiphertexts: number): { keys: number; request: number } {
  const N = he.polyModulusDegree
  const dataPrimes = he.coeffModulusBits.length - 1
  const slack = 4096 // the container's headers, zstd framing
  const keys = keySizes(N, dataPrimes, Array.from({ length: rotationSteps }, (_, i) => i + 1))
  return {
    keys: keys.relin[0] + keys.galois[0] + slack,
    request: inputCiphertexts * (ciphertextSizes(N, dataPrimes).seeded + 64) + slack,
  }
}
