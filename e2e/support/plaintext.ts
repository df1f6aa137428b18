/** The shipped models' plaintext answers, through the TypeScript reference forward pass: what the app must agree with. */
import { loadModels, type ModelFiles } from '../../src/datasets/model-files'
import { argmax, forward, normalise } from '../../src/model/forward'

let models: Promise<Map<string, ModelFiles>> | undefined

/** The class the plaintext model gives the raw HWC input (0..255 bytes). */
export async function plaintextPrediction(model: string, raw: Uint8Array): Promise<number> {
  models ??= loadModels()
  const files = (await models).get(model)
  if (!files) throw new Error(`no shipped model ${model}`)
  return argmax(forward(files.manifest, files.weights, normalise(raw, files.manifest)))
}
