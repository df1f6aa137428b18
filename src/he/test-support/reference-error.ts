/**
 * Runs random inputs through a model twice, encrypted (a client's KeyOwner, the server's
 * ModelEvaluator) and with the plaintext reference forward pass, and gives the worst error
 * relative to each image's largest logit (at least 1): what the tests of each layer type bound.
 */
import type { Seal } from '../context'
import { KeyOwner } from '../key-owner'
import { ModelEvaluator } from '../evaluator'
import { publicModel } from '../public-model'
import { forward } from '../../model/forward'
import type { ModelManifest, Weights } from '../../model/manifest'

export interface ReferenceRun {
  worst: number
  depth: number
  /** whether some linear stage gathers a staggered pool's ciphertexts */
  gathered: boolean
}

export async function worstReferenceError(
  m: { manifest: ModelManifest; weights: Weights },
  seals: { client: Seal; server: Seal },
  images: number,
  seed: number,
): Promise<ReferenceRun> {
  const { manifest, weights } = m
  const owner = await KeyOwner.create(publicModel(manifest), seals.client)
  const evaluator = await ModelEvaluator.create(manifest, weights, seals.server)
  const keys = evaluator.loadKeys(owner.evaluationKeys.slice())
  try {
    const size = manifest.input.height * manifest.input.width * manifest.input.channels
    let state = seed
    let worst = 0
    for (let i = 0; i < images; i++) {
      // inputs uniform in [-1, 1) from a linear congruential generator: the same on every run
      const x = Float64Array.from({ length: size }, () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1)
      const expected = forward(manifest, weights, x)
      const got = owner.decrypt(evaluator.classify(keys, owner.encrypt(x)))
      const scale = Math.max(1, ...Array.from(expected, Math.abs))
      for (let o = 0; o < expected.length; o++) worst = Math.max(worst, Math.abs(got[o] - expected[o]) / scale)
    }
    const gathered = evaluator.plan.stages.some((s) => s.kind === 'linear' && s.gather !== undefined)
    return { worst, depth: evaluator.plan.depth, gathered }
  } finally {
    keys.dispose()
    evaluator.dispose()
    owner.dispose()
  }
}
