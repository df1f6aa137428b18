/** The shipped model, checked as it ships: integrity, geometry, and plaintext accuracy. */
import { describe, expect, it } from 'vitest'
import { loadMnist } from '../../scripts/mnist'
import { loadModelDir, MODELS_DIR } from '../../server/model-files'
import { argmax, forward, normalise } from './forward'
import { publicModel } from './manifest'

const { manifest, weights } = await loadModelDir(`${MODELS_DIR}/mnist-cnn`)

describe('shipped mnist-cnn', () => {
  it('is HE-friendly: conv -> square -> dense, no pooling or ReLU', () => {
    expect(manifest.layers.map((l) => l.type)).toEqual(['conv2d', 'square', 'dense'])
    expect(manifest.he.securityLevel).toBe('tc128')
  })

  it('publishes geometry and HE parameters but no weight reference', () => {
    const text = JSON.stringify(publicModel(manifest))
    expect(text).not.toMatch(/weights|bias|sha256|tensors/)
    expect(publicModel(manifest).plan.rotationSteps).toEqual(manifest.plan.rotationSteps)
  })

  /**
   * The target. The shipped model sits just above it (99.01%), so a
   * retrained artefact that slips below fails here rather than in a benchmark.
   */
  const MIN_ACCURACY = 0.99

  it(`reaches >= ${(MIN_ACCURACY * 100).toFixed(1)}% plaintext accuracy on all 10,000 official test images`, () => {
    const test = loadMnist('test')
    expect(test.count).toBe(10_000)
    let correct = 0
    for (let i = 0; i < test.count; i++) {
      const x = normalise(test.pixels.subarray(i * 784, i * 784 + 784), manifest)
      if (argmax(forward(manifest, weights, x)) === test.labels[i]) correct++
    }
    console.log(`plaintext accuracy ${(correct / 100).toFixed(2)}%`)
    expect(correct / test.count).toBeGreaterThanOrEqual(MIN_ACCURACY)
  })
})
