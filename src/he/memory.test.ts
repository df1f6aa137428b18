/**
 * Every SEAL handle is freed: resident memory stays flat over hundreds of
 * consecutive encrypted inferences once the WASM heaps have grown to their
 * working size (a WASM heap never shrinks, so growth is measured after warm-up).
 */
import SEAL from 'node-seal'
import { expect, it } from 'vitest'
import { loadMnist } from '../../scripts/mnist'
import { loadModelDir, MODELS_DIR } from '../../server/model-files'
import { normalise } from '../model/forward'
import { publicModel } from '../model/manifest'
import { ModelEvaluator } from './evaluator'
import { KeyOwner } from './key-owner'

const WARM_UP = 30
const INFERENCES = 300
/** One leaked ciphertext is ~0.4 MB in the heap; 270 leaks would add > 100 MB. */
const MAX_GROWTH_MB = 48

it(`keeps RSS flat over ${INFERENCES} encrypted inferences (growth after warm-up < ${MAX_GROWTH_MB} MB)`, async () => {
  const { manifest, weights } = await loadModelDir(`${MODELS_DIR}/mnist-cnn`)
  const owner = await KeyOwner.create(publicModel(manifest), await SEAL())
  const evaluator = await ModelEvaluator.create(manifest, weights, await SEAL())
  const test = loadMnist('test')
  const rssMB = () => {
    ;(globalThis as { gc?: () => void }).gc?.()
    return process.memoryUsage().rss / 2 ** 20
  }
  let afterWarmUp = 0
  try {
    // a new session's keys every 50 inferences: loading and freeing keys is exercised too
    for (let start = 0; start < INFERENCES; start += 50) {
      const keys = evaluator.loadKeys(owner.evaluationKeys)
      try {
        for (let i = start; i < Math.min(start + 50, INFERENCES); i++) {
          if (i === WARM_UP) afterWarmUp = rssMB()
          const x = normalise(test.pixels.subarray(i * 784, i * 784 + 784), manifest)
          owner.decrypt(evaluator.classify(keys, owner.encrypt(x)))
        }
      } finally {
        keys.dispose()
      }
    }
    const growth = rssMB() - afterWarmUp
    console.log(`RSS after warm-up ${afterWarmUp.toFixed(0)} MB, growth over ${INFERENCES - WARM_UP} inferences ${growth.toFixed(1)} MB`)
    expect(growth).toBeLessThan(MAX_GROWTH_MB)
  } finally {
    evaluator.dispose()
    owner.dispose()
  }
})
