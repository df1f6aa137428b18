import SEAL from 'node-seal'
import { describe, expect, it } from 'vitest'
import { createHeContext } from './context'
import { heParamsForDepth, heParamsForNetwork, parseHeParams } from './params'
import { DEFAULT_HE_PARAMS } from './params'

describe('HE parameters for a model', () => {
  it('keeps the MNIST parameters for three levels and moves to N = 16384 beyond', () => {
    expect(heParamsForDepth(3)).toBe(DEFAULT_HE_PARAMS)
    const deep = heParamsForDepth(7)
    expect(deep.polyModulusDegree).toBe(16384)
    expect(deep.coeffModulusBits).toEqual([60, 40, 40, 40, 40, 40, 40, 40, 60])
    expect(() => heParamsForDepth(12)).toThrow(/needs 600 bits of modulus; N = 16384 allows 438/)
  })

  it("counts a network's levels from its linear runs and activations", () => {
    const input = { height: 28, width: 28, channels: 1 as const }
    const conv = { type: 'conv2d' as const, kernel: 5, stride: 2, padding: 0, filters: 4 }
    const dense = { type: 'dense' as const, units: 10 }
    expect(heParamsForNetwork({ input, layers: [conv, { type: 'square' }, dense] })).toBe(DEFAULT_HE_PARAMS)
    const five = heParamsForNetwork({ input, layers: [conv, { type: 'poly' }, { ...conv, kernel: 3, padding: 1 }, { type: 'square' }, dense] })
    expect(five.coeffModulusBits).toEqual([60, 40, 40, 40, 40, 40, 60])
  })

  it('reads N:BITS:SCALE with BxK repeats', () => {
    expect(parseHeParams('8192:38,28x5,40:28')).toEqual({
      scheme: 'ckks',
      polyModulusDegree: 8192,
      coeffModulusBits: [38, 28, 28, 28, 28, 28, 40],
      scaleBits: 28,
      securityLevel: 'tc128',
    })
    expect(parseHeParams('16384:60,40,60:40').coeffModulusBits).toEqual([60, 40, 60])
    expect(() => parseHeParams('8192:38,28x5,40')).toThrow(/expected N:BITS:SCALE/)
    expect(() => parseHeParams('8192:38,x5,40:28')).toThrow(/'x5' is not B or BxK/)
  })

  it('leaves the 128-bit check to SEAL: 218 bits fit N = 8192, 219 do not', async () => {
    const seal = await SEAL()
    createHeContext(seal, parseHeParams('8192:38,28x5,40:28')).dispose()
    expect(() => createHeContext(seal, parseHeParams('8192:39,28x5,40:28'))).toThrow(/219 modulus bits at 128-bit security \(max 218\)/)
  })
})
