/**
 * Every shipped model, checked as it ships: integrity, public description,
 * and plaintext accuracy on its data set's whole official test split through
 * the TypeScript reference forward pass.
 */
import { describe, expect, it } from 'vitest'
import { imageAt, loadSplit } from '../datasets'
import { loadModels } from '../../server/model-files'
import { argmax, forward, normalise } from './forward'
import { publicModel } from './manifest'

/**
 * The accuracy each shipped model must keep (a retrained artefact that slips
 * below fails here rather than in a benchmark). mnist-cnn: the issue's 99.0%,
 * which the shipped model just clears (99.01%). fashion-cnn 3.0.0: the issue's
 * 92%, which it just clears (92.02%, as 2.0.0 did; a second seed of 2.0.0's recipe gave 91.94%).
 */
const FLOORS: Record<string, number> = {
  'mnist-cnn': 0.99,
  'fashion-cnn': 0.92,
  // measured 81.35% (torch and this test agree); the bar is 80%
  'cifar10-cnn': 0.81,
}

const models = await loadModels()

describe('shipped models', () => {
  it('each has an accuracy floor in this test and a data set', () => {
    expect(models.has('mnist-cnn')).toBe(true)
    for (const [name, { manifest }] of models) {
      expect(FLOORS[name], `${name} needs a floor in FLOORS`).toBeDefined()
      expect(manifest.dataset, `${name} names no data set`).toBeTruthy()
    }
  })

  it('mnist-cnn is conv -> square -> dense, 128-bit', () => {
    const { manifest } = models.get('mnist-cnn')!
    expect(manifest.layers.map((l) => l.type)).toEqual(['conv2d', 'square', 'dense'])
    expect(manifest.he.securityLevel).toBe('tc128')
  })

  for (const [name, { manifest, weights }] of models) {
    it(`${name} publishes geometry and HE parameters but no weight reference`, () => {
      const text = JSON.stringify(publicModel(manifest))
      expect(text).not.toMatch(/weights|bias|coefficients|sha256|tensors|training/)
      expect(publicModel(manifest).plan.rotationSteps).toEqual(manifest.plan.rotationSteps)
    })

    const floor = FLOORS[name] ?? 1
    it(`${name} reaches >= ${(floor * 100).toFixed(1)}% plaintext accuracy on all official test images of ${manifest.dataset}`, () => {
      const test = loadSplit(manifest.dataset!, 'test')
      expect(test.count).toBe(10_000)
      let correct = 0
      for (let i = 0; i < test.count; i++) {
        if (argmax(forward(manifest, weights, normalise(imageAt(test, i), manifest))) === test.labels[i]) correct++
      }
      console.log(`${name}: plaintext accuracy ${(correct / 100).toFixed(2)}%`)
      expect(correct / test.count).toBeGreaterThanOrEqual(floor)
    })
  }
})
