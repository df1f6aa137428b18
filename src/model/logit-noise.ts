/**
 * Gaussian noise for logits: a mitigation against model extraction that a
 * server can apply under encryption (it cannot round a ciphertext, but it can
 * add a plaintext vector to it). The same noise value goes to every slot copy
 * of a logit, so the client decrypts logit + noise, once per logit.
 *
 * Isomorphic (no DOM, no Node APIs). The default random source is the
 * platform CSPRNG (`globalThis.crypto.getRandomValues`): noise that the client
 * could predict (Math.random, a seed it can guess) it could also subtract.
 * Tests and experiments inject a seeded source instead.
 */

/** A source of uniform doubles in [0, 1) or (0, 1), like Math.random. */
export type UniformSource = () => number

interface GetRandomValues {
  getRandomValues(array: Uint32Array): Uint32Array
}

/** crypto.getRandomValues fills at most 65,536 bytes per call */
const BLOCK = 16384

/**
 * Uniform doubles in (0, 1) with 53 random bits each, from the platform
 * CSPRNG; refilled in blocks to keep calls to getRandomValues few.
 */
export function cryptoUniform(): UniformSource {
  const c = (globalThis as unknown as { crypto?: Partial<GetRandomValues> }).crypto
  if (!c || typeof c.getRandomValues !== 'function') {
    throw new Error('logit noise: globalThis.crypto.getRandomValues is not available')
  }
  const rng = c as GetRandomValues
  const words = new Uint32Array(BLOCK)
  let at = BLOCK
  return () => {
    if (at + 2 > BLOCK) {
      rng.getRandomValues(words)
      at = 0
    }
    const hi = words[at++] >>> 5 // 27 bits
    const lo = words[at++] >>> 6 // 26 bits
    // (k + 0.5) / 2^53 for k in [0, 2^53): strictly inside (0, 1)
    return (hi * 67108864 + lo + 0.5) / 9007199254740992
  }
}

let shared: UniformSource | undefined

function checkStd(std: number): void {
  if (!Number.isFinite(std) || std < 0) throw new Error(`logit noise: std must be a finite number >= 0, got ${std}`)
}

/**
 * `count` independent samples of N(0, std^2), by Box-Muller (two samples per
 * pair of uniforms). std = 0 returns zeros without drawing randomness.
 * `random` must return doubles in [0, 1) or (0, 1); default: the CSPRNG.
 */
export function gaussianNoise(count: number, std: number, random?: UniformSource): Float64Array {
  if (!Number.isInteger(count) || count < 0) throw new Error(`logit noise: count must be an integer >= 0, got ${count}`)
  checkStd(std)
  const out = new Float64Array(count)
  if (std === 0 || count === 0) return out
  const uniform = random ?? (shared ??= cryptoUniform())
  for (let i = 0; i < count; i += 2) {
    // 1 - u maps [0, 1) to (0, 1], so log never sees 0
    const u1 = 1 - uniform()
    const u2 = uniform()
    const r = std * Math.sqrt(-2 * Math.log(u1))
    const theta = 2 * Math.PI * u2
    out[i] = r * Math.cos(theta)
    if (i + 1 < count) out[i + 1] = r * Math.sin(theta)
  }
  return out
}

/** A new array: each logit plus an independent N(0, std^2) sample. The input is left as it is. */
export function addLogitNoise(logits: ArrayLike<number>, std: number, random?: UniformSource): Float64Array {
  const noise = gaussianNoise(logits.length, std, random)
  for (let i = 0; i < noise.length; i++) noise[i] += logits[i]
  return noise
}
