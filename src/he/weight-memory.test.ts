/**
 * The server's encoded weights must fit one 32-bit SEAL heap. A network the
 * trainer exports happily (Fashion-MNIST, conv 64 -> conv 128 at N = 8192,
 * whose diagonals pass the budget) would fail in the middle of encoding with
 * SEAL's bare std::bad_alloc; it is refused before any weight is encoded.
 */
import SEAL from 'node-seal'
import { describe, expect, it } from 'vitest'
import { loadModels } from '../datasets/model-files'
import { randomModel } from './random-model'
import { createHeContext } from './context'
import { ModelEvaluator } from './evaluator'
import { parseHeParams } from './params'
import { derivePlan } from './plan'
import { parseArch } from '../model/arch-string'
import { ENCODED_WEIGHTS_BUDGET_BYTES, encodedWeightSize, WASM_HEAP_MAX_BYTES } from './weight-memory'

const FIVE_LEVELS_8192 = parseHeParams('8192:38,28x5,40:28')

describe('encoded weight memory', () => {
  it('counts N coefficients per prime left at each level, as SEAL stores a plaintext there', async () => {
    const seal = await SEAL()
    for (const params of [FIVE_LEVELS_8192, parseHeParams('16384:60,40x7,60:40')]) {
      const he = createHeContext(seal, params)
      const encoder = new seal.CKKSEncoder(he.context)
      const evaluator = new seal.Evaluator(he.context)
      try {
        he.levels.forEach((level, i) => {
          const plain = new seal.Plaintext()
          try {
            encoder.encode(new Float64Array(encoder.slotCount()).map((_, s) => s % 7), 2 ** params.scaleBits, plain)
            evaluator.plainModSwitchToInplace(plain, level.parmsId)
            plain.shrinkToFit()
            // what encodedWeightSize charges a plaintext of stage i (stage i works at level i)
            expect(plain.capacity()).toBe(params.polyModulusDegree * (params.coeffModulusBits.length - 1 - i))
          } finally {
            plain.delete()
          }
        })
      } finally {
        evaluator.delete()
        encoder.delete()
        he.dispose()
      }
    }
  })

  it('refuses a model too large for one heap before encoding, naming its size and costliest stage', async () => {
    const { manifest, weights } = randomModel({ layers: parseArch('c5s1p0-64,poly,pool2,c3s2p1-128,poly,dense', 'image'), he: FIVE_LEVELS_8192, seed: 5 })
    const size = encodedWeightSize(derivePlan(manifest), manifest.he)
    expect(size.bytes).toBeGreaterThan(WASM_HEAP_MAX_BYTES)
    await expect(ModelEvaluator.create(manifest, weights, await SEAL())).rejects.toThrow(/encoded weights need 4\.\d\d GiB \(\d+ SEAL plaintexts; stage 2 alone .*Use fewer channels in stage 2/)
  })

  it('counts the models already in the heap', async () => {
    const { manifest, weights } = randomModel({ filters: 8, seed: 2 })
    const size = encodedWeightSize(derivePlan(manifest), manifest.he)
    const seal = await SEAL()
    const fits = await ModelEvaluator.create(manifest, weights, seal, ENCODED_WEIGHTS_BUDGET_BYTES - size.bytes)
    expect(fits.encodedWeightBytes).toBe(size.bytes)
    fits.dispose()
    await expect(ModelEvaluator.create(manifest, weights, seal, ENCODED_WEIGHTS_BUDGET_BYTES - size.bytes + 1)).rejects.toThrow(/on top of 2\.99 GiB for the models loaded before it, over the 3\.00 GiB.*serve this model from its own server/)
  })

  it('holds the shipped models together, as every server worker serves all of them', async () => {
    const models = [...(await loadModels()).values()]
    const sizes = models.map((m) => ({ name: m.manifest.name, bytes: encodedWeightSize(derivePlan(m.manifest), m.manifest.he).bytes }))
    const total = sizes.reduce((n, s) => n + s.bytes, 0)
    console.log(`encoded weights: ${sizes.map((s) => `${s.name} ${(s.bytes / 2 ** 30).toFixed(2)} GiB`).join(', ')}; budget ${(ENCODED_WEIGHTS_BUDGET_BYTES / 2 ** 30).toFixed(2)} GiB`)
    expect(models.length).toBeGreaterThanOrEqual(3)
    expect(total).toBeLessThanOrEqual(ENCODED_WEIGHTS_BUDGET_BYTES)
  })
})
