/**
 * The exact byte size of every SEAL object a plan exchanges, saved without
 * compression (the 16-byte SEAL header included). The bounded inflater needs
 * them: a compressed section must inflate to exactly one of these, so no
 * client (and no server, for the browser) can make the other side allocate
 * more than the plan itself needs.
 *
 * Ciphertexts follow a closed form (checked against SEAL in
 * object-sizes.test.ts); key sizes depend on which Galois elements are present,
 * so they are measured once by saving a throwaway key set for the plan's steps.
 * Isomorphic: no DOM, no Node APIs.
 */
import type { HeContext } from './context'

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

/** Saves a throwaway key set (never used for anything else) to learn its uncompressed sizes. */
export function measureKeySizes(he: HeContext, rotationSteps: readonly number[]): KeySizes {
  const { seal, context } = he
  const none = seal.ComprModeType.none
  const keygen = new seal.KeyGenerator(context)
  const steps = Int32Array.from(rotationSteps)
  const sizeOf = (make: () => { saveToArray(m: typeof none): unknown; delete(): void }) => {
    const object = make()
    try {
      return (object.saveToArray(none) as Uint8Array).byteLength
    } finally {
      object.delete()
    }
  }
  try {
    return {
      relin: [sizeOf(() => keygen.createRelinKeysSerializable()), sizeOf(() => keygen.createRelinKeys())],
      galois: [
        sizeOf(() => keygen.createGaloisKeysSerializableWithSteps(steps)),
        sizeOf(() => keygen.createGaloisKeysWithSteps(steps)),
      ],
    }
  } finally {
    keygen.delete()
  }
}

/**
 * Upper bounds of a valid upload's bytes for a model, before any knowledge of
 * its Galois elements: what a route's body limit must admit. Keys: one
 * relinearisation key and one Galois key per step, each `dataPrimes` seeded
 * ciphertexts at the key level (special prime included), plus headers and
 * the Galois table (measured in object-sizes.test.ts); the request: its input
 * ciphertexts seeded (what KeyOwner sends; an unseeded request is twice this
 * and is admitted only below the configured floor). zstd never grows data by
 * more than a few bytes, so compressed uploads stay within them.
 */
export function uploadBounds(he: { polyModulusDegree: number; coeffModulusBits: number[] }, rotationSteps: number, inputCiphertexts: number): { keys: number; request: number } {
  const N = he.polyModulusDegree
  const dataPrimes = he.coeffModulusBits.length - 1
  const slack = 4096 // container and SEAL headers, zstd framing
  const key = dataPrimes * ciphertextSizes(N, dataPrimes + 1).seeded + 1024
  // Galois keys sit in a table indexed by Galois element: up to N/2 empty entries of a few bytes
  const galoisTable = 16 * N
  return {
    keys: (1 + rotationSteps) * key + galoisTable + slack,
    request: inputCiphertexts * (ciphertextSizes(N, dataPrimes).seeded + 64) + slack,
  }
}
