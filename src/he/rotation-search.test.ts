import { describe, expect, it } from 'vitest'
import { babyChain, bsgs, chainSteps, galoisElement } from './rotation-search'

describe('bsgs', () => {
  it('pays baby steps per input and giant steps per output ciphertext', () => {
    const range = (n: number) => Array.from({ length: n }, (_, i) => i)
    const single = bsgs(range(52), 1, 1)
    const size = (r: ReturnType<typeof bsgs>) => ({ n1: r.n1, giant: r.giant, babies: r.babies.j.length })
    expect(single.n1 * single.giant).toBeGreaterThanOrEqual(52)
    expect(single.babies.j.length - 1 + single.giant - 1).toBe(13) // 2*sqrt(52) - 2, the textbook optimum
    expect(size(bsgs(range(52), 1, 4))).toEqual({ n1: 13, giant: 4, babies: 13 })
    // a key costs KEY_COST rotations: 16 offsets for 4 inputs and 1 output go all to giant steps
    expect(size(bsgs(range(16), 4, 1))).toEqual({ n1: 1, giant: 16, babies: 1 })
    // 5x5 taps over a 28-wide image, 8 outputs: all 25 offsets as babies, made with keys 1 and 28, no giant step
    const taps = range(25).map((t) => Math.floor(t / 5) * 28 + (t % 5))
    const conv = bsgs(taps, 1, 8)
    expect(size(conv)).toMatchObject({ giant: 1, babies: 25 })
    expect(chainSteps(conv.babies).sort((a, b) => a - b)).toEqual([1, 28])
  })
})

describe('babyChain', () => {
  it('reaches every offset, each node one keyed rotation from an earlier one', () => {
    const needed = [3, 5, 17, 18, 19, 40, 41, 64]
    const chain = babyChain(needed)
    for (const j of needed) expect(chain.j).toContain(j)
    const steps = chainSteps(chain)
    expect(steps.length).toBeLessThanOrEqual(2)
    chain.from.forEach((f, i) => {
      if (i === 0) return expect(f).toBe(-1)
      expect(f).toBeLessThan(i)
      expect(steps).toContain(chain.j[i] - chain.j[f])
    })
  })
})

describe('galoisElement', () => {
  it('matches SEAL: left rotation by k is 3^k mod 2N, right rotation by k is 3^(N/2-k)', () => {
    expect(galoisElement(1, 8192)).toBe(3)
    expect(galoisElement(2, 8192)).toBe(9)
    expect(galoisElement(-1, 8192)).toBe(galoisElement(4095, 8192))
    expect(galoisElement(0, 8192)).toBe(16383)
    expect(() => galoisElement(4096, 8192)).toThrow()
  })
})
