import { describe, expect, it } from 'vitest'
import { addLogitNoise, cryptoUniform, gaussianNoise } from './logit-noise'
import { seededRandom } from './seeded-random'


function moments(v: Float64Array): { mean: number; std: number } {
  let s = 0
  for (const x of v) s += x
  const mean = s / v.length
  let q = 0
  for (const x of v) q += (x - mean) * (x - mean)
  return { mean, std: Math.sqrt(q / (v.length - 1)) }
}

describe('gaussianNoise', () => {
  const N = 100_000

  it('has mean ~0 and the requested std (CSPRNG source)', () => {
    for (const std of [1, 2.5]) {
      const { mean, std: s } = moments(gaussianNoise(N, std))
      // standard error of the mean is std / sqrt(N) ~ 0.003 std: 5 of them
      expect(Math.abs(mean)).toBeLessThan(0.016 * std)
      expect(Math.abs(s / std - 1)).toBeLessThan(0.02)
    }
  })

  it('has Gaussian tails: ~68.3% within 1 std, ~95.4% within 2', () => {
    const v = gaussianNoise(N, 3)
    const within = (k: number) => v.filter((x) => Math.abs(x) <= 3 * k).length / N
    expect(within(1)).toBeCloseTo(0.6827, 2)
    expect(within(2)).toBeCloseTo(0.9545, 2)
  })

  it('handles odd counts and count 0', () => {
    expect(gaussianNoise(0, 1)).toHaveLength(0)
    const v = gaussianNoise(7, 1)
    expect(v).toHaveLength(7)
    expect(v.every((x) => Number.isFinite(x) && x !== 0)).toBe(true)
  })

  it('returns zeros for std = 0 without drawing randomness', () => {
    let calls = 0
    const v = gaussianNoise(10, 0, () => {
      calls++
      return 0.5
    })
    expect(Array.from(v)).toEqual(new Array(10).fill(0))
    expect(calls).toBe(0)
  })

  it('is deterministic with an injected random source', () => {
    const a = gaussianNoise(1001, 1.5, seededRandom(42))
    const b = gaussianNoise(1001, 1.5, seededRandom(42))
    const c = gaussianNoise(1001, 1.5, seededRandom(43))
    expect(Array.from(a)).toEqual(Array.from(b))
    expect(Array.from(a)).not.toEqual(Array.from(c))
    const { mean, std } = moments(gaussianNoise(N, 1.5, seededRandom(7)))
    expect(Math.abs(mean)).toBeLessThan(0.024)
    expect(Math.abs(std / 1.5 - 1)).toBeLessThan(0.02)
  })

  it('survives a source that returns exactly 0', () => {
    const v = gaussianNoise(4, 1, () => 0)
    expect(v.every(Number.isFinite)).toBe(true)
  })

  it('rejects a negative or non-finite std and a bad count', () => {
    expect(() => gaussianNoise(3, -1)).toThrow(/std/)
    expect(() => gaussianNoise(3, Number.NaN)).toThrow(/std/)
    expect(() => gaussianNoise(3, Number.POSITIVE_INFINITY)).toThrow(/std/)
    expect(() => gaussianNoise(-1, 1)).toThrow(/count/)
    expect(() => gaussianNoise(1.5, 1)).toThrow(/count/)
  })
})

describe('cryptoUniform', () => {
  it('gives doubles strictly inside (0, 1), uniform in mean, past one refill', () => {
    const u = cryptoUniform()
    let s = 0
    let outside = 0
    const n = 50_000
    for (let i = 0; i < n; i++) {
      const x = u()
      if (!(x > 0 && x < 1)) outside++
      s += x
    }
    expect(outside).toBe(0)
    // uniform mean 0.5, std 1/sqrt(12n) ~ 0.0013
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.007)
  })
})

describe('addLogitNoise', () => {
  it('returns a new array of logit + noise and leaves the input alone', () => {
    const logits = Float64Array.from([1, -2, 3.5, 0, 10])
    const noisy = addLogitNoise(logits, 0.5, seededRandom(1))
    const noise = gaussianNoise(5, 0.5, seededRandom(1))
    expect(noisy).not.toBe(logits)
    expect(Array.from(logits)).toEqual([1, -2, 3.5, 0, 10])
    for (let i = 0; i < 5; i++) expect(noisy[i]).toBeCloseTo(logits[i] + noise[i], 12)
  })

  it('with std = 0 returns an exact copy', () => {
    const logits = [0.25, -7, 3]
    const out = addLogitNoise(logits, 0)
    expect(Array.from(out)).toEqual(logits)
  })
})
