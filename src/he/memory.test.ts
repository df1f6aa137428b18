/**
 * Every SEAL handle is freed: resident memory stays flat over consecutive
 * encrypted inferences once the WASM heaps have grown to their working size
 * (a WASM heap never shrinks, so growth is measured after warm-up). MNIST over
 * hundreds of images; CIFAR-10, at seconds an image, over a few dozen.
 */
import SEAL from 'node-seal'
import { expect, it } from 'vitest'
import { loadModelDir, MODELS_DIR } from '../datasets/model-files'
import { imageAt, loadSplit } from '../datasets'
import { normalise } from '../model/forward'
import { publicModel } from './public-model'
import { ModelEvaluator } from './evaluator'
import { KeyOwner } from './key-owner'

const cases = [
  // one leaked ciphertext is ~0.4 MB in the heap at N = 8192: 270 leaks would add > 100 MB. The
  // warm-up covers the first key reload: SEAL's heap grows a step when a second key set is loaded
  // where the first was freed, and a WASM heap never shrinks
  { model: 'mnist-cnn', warmUp: 60, inferences: 330, keysEvery: 50, maxGrowthMb: 48 },
  // RSS moves by tens of MB as request buffers come and go while SEAL's heap stays flat after the first
  // inference (docs/decisions/memory-test-bounds.md). The bound catches a leaked key set or baby-step
  // set per image, not one leaked ciphertext
  { model: 'cifar10-cnn', warmUp: 3, inferences: 23, keysEvery: 10, maxGrowthMb: 96 },
]

for (const c of cases) {
  it(`${c.model}: keeps RSS flat over ${c.inferences} encrypted inferences (growth after warm-up < ${c.maxGrowthMb} MB)`, async () => {
    const { manifest, weights } = await loadModelDir(`${MODELS_DIR}/${c.model}`)
    const owner = await KeyOwner.create(publicModel(manifest), await SEAL())
    const evaluator = await ModelEvaluator.create(manifest, weights, await SEAL())
    const test = loadSplit(manifest.dataset ?? 'mnist', 'test')
    const rssMB = () => {
      ;(globalThis as { gc?: () => void }).gc?.()
      return process.memoryUsage().rss / 2 ** 20
    }
    // RSS read every `every` inferences after the warm-up: garbage the collector has not yet
    // returned lifts single readings, a leak lifts all of them, so growth compares the lowest
    // of the first readings with the lowest of the last
    const every = Math.max(1, Math.floor((c.inferences - c.warmUp) / 20))
    const readings: number[] = []
    try {
      // a new session's keys every `keysEvery` inferences: loading and freeing keys is exercised too
      for (let start = 0; start < c.inferences; start += c.keysEvery) {
        const keys = evaluator.loadKeys(owner.evaluationKeys)
        try {
          for (let i = start; i < Math.min(start + c.keysEvery, c.inferences); i++) {
            if (i >= c.warmUp && (i - c.warmUp) % every === 0) readings.push(rssMB())
            owner.decrypt(evaluator.classify(keys, owner.encrypt(normalise(imageAt(test, i), manifest))))
          }
        } finally {
          keys.dispose()
        }
      }
      readings.push(rssMB())
      const window = Math.min(3, Math.floor(readings.length / 2))
      const afterWarmUp = Math.min(...readings.slice(0, window))
      const growth = Math.min(...readings.slice(-window)) - afterWarmUp
      console.log(`${c.model}: RSS after warm-up ${afterWarmUp.toFixed(0)} MB, growth over ${c.inferences - c.warmUp} inferences ${growth.toFixed(1)} MB (readings ${readings.map((r) => r.toFixed(0)).join(' ')})`)
      expect(growth).toBeLessThan(c.maxGrowthMb)
    } finally {
      evaluator.dispose()
      owner.dispose()
    }
  })
}
