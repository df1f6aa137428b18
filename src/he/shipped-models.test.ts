/**
 * Every shipped model under encryption: client and server in separate SEAL
 * instances, through bytes, on official test images of its data set; the
 * logits match the plaintext reference within the tolerance and the argmax is
 * the same. (engine.test.ts covers mnist-cnn on 200 images and the failure paths.)
 */
import SEAL from 'node-seal'
import { describe, expect, it } from 'vitest'
import { loadModels } from '../datasets/model-files'
import { imageAt, loadSplit } from '../datasets'
import { argmax, forward, normalise } from '../model/forward'
import { publicModel } from './public-model'
import { ModelEvaluator } from './evaluator'
import { KeyOwner } from './key-owner'

/** Largest |encrypted - plaintext| logit difference tolerated: well above CKKS noise, well below a changed answer. */
const LOGIT_TOLERANCE = 1e-3
/**
 * Images per model. Each image is a check of its own, so fewer images test the
 * same property on fewer inputs: N = 16384 models cost seconds an image, and
 * `npm run test:full` (BLINDFOLD_FULL=1) runs twice as many of them.
 */
const FULL = process.env.BLINDFOLD_FULL === '1'
const imagesFor = (N: number) => (N >= 16384 ? (FULL ? 20 : 10) : 100)

const models = await loadModels()

describe('shipped models under encryption', () => {
  for (const [name, { manifest, weights }] of models) {
    if (name === 'mnist-cnn') continue
    const count = imagesFor(manifest.he.polyModulusDegree)
    it(`${name}: encrypted logits match the plaintext ones on ${count} official ${manifest.dataset} test images`, async () => {
      const test = loadSplit(manifest.dataset!, 'test')
      const owner = await KeyOwner.create(publicModel(manifest), await SEAL())
      const evaluator = await ModelEvaluator.create(manifest, weights, await SEAL())
      const keys = evaluator.loadKeys(owner.evaluationKeys.slice())
      try {
        let worst = 0
        for (let i = 0; i < count; i++) {
          const x = normalise(imageAt(test, i), manifest)
          const logits = owner.decrypt(evaluator.classify(keys, owner.encrypt(x)))
          const reference = forward(manifest, weights, x)
          for (let o = 0; o < reference.length; o++) worst = Math.max(worst, Math.abs(logits[o] - reference[o]))
          expect(argmax(logits), `image ${i}`).toBe(argmax(reference))
        }
        console.log(`${name}: max |logit error| ${worst.toExponential(2)} over ${count} images`)
        expect(worst).toBeLessThan(LOGIT_TOLERANCE)
      } finally {
        keys.dispose()
        evaluator.dispose()
        owner.dispose()
      }
    })
  }
})
