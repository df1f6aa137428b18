/**
 * npm run model:explore -- --arch "c5s1p0-16,poly,pool2,c3s2p1-32,poly,dense" [--input 28x28x1]
 *     [--packing image|patches] [--he 8192:38,28x5,40:28] [--images 4] [--seed 1]
 *
 * What a network would cost under encryption before anyone trains it: the same
 * geometry with seeded random weights, sealed at the given parameters (default:
 * src/he/params.ts for its depth), through KeyOwner and ModelEvaluator as in
 * production. Prints the plan's rotation steps, evaluation-key, request and
 * response bytes, server time per image (median, this thread) and the worst
 * logit error against the plaintext reference, relative to max(1, |largest
 * logit|). Random weights say nothing of accuracy (train it for that), and
 * their logits are small, so the error is an indication of the parameters'
 * precision, not of a trained model's agreement.
 */
import { parseArgs } from 'node:util'
import SEAL from 'node-seal'
import { ModelEvaluator } from '../../src/he/evaluator'
import { KeyOwner } from '../../src/he/key-owner'
import { heParamsForNetwork, parseHeParams } from '../../src/he/params'
import { forward } from '../../src/model/forward'
import { publicModel } from '../../src/he/public-model'
import { randomModel } from '../../src/he/random-model'
import { parseArch } from '../../src/model/arch-string'
import { helpIfAsked } from '../help'
helpIfAsked(import.meta.url)

const { values } = parseArgs({
  options: {
    arch: { type: 'string' },
    input: { type: 'string', default: '28x28x1' },
    packing: { type: 'string' },
    he: { type: 'string' },
    images: { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
  },
})
if (!values.arch) throw new Error('usage: npm run model:explore -- --arch STRING [--input HxWxC] [--packing image|patches] [--he N:BITS:SCALE] [--images K]')
const [height, width, channels] = values.input.split('x').map(Number)
if (channels !== 1 && channels !== 3) throw new Error(`--input ${values.input}: 1 or 3 channels`)
const imageFits = /^c\d+s1p0-/.test(values.arch) && channels === 1
const layers = parseArch(values.arch, (values.packing as 'image' | 'patches' | undefined) ?? (imageFits ? 'image' : 'patches'))
const input = { height, width, channels: channels as 1 | 3 }
const he = values.he ? parseHeParams(values.he) : heParamsForNetwork({ input, layers })

const [clientSeal, serverSeal] = [await SEAL(), await SEAL()]
const { manifest, weights } = randomModel({ input, layers, he, seed: Number(values.seed) })
const owner = await KeyOwner.create(publicModel(manifest), clientSeal)
const built = performance.now()
const evaluator = await ModelEvaluator.create(manifest, weights, serverSeal)
const buildMs = performance.now() - built
const keyBytes = owner.evaluationKeys.length
const keys = evaluator.loadKeys(owner.evaluationKeys.slice())
const serverMs: number[] = []
const requestBytes: number[] = []
let responseBytes = 0
let worst = 0
try {
  let state = Number(values.seed) + 6
  const size = height * width * channels
  for (let i = 0; i < Number(values.images); i++) {
    const x = Float64Array.from({ length: size }, () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1)
    const expected = forward(manifest, weights, x)
    const request = owner.encrypt(x)
    const started = performance.now()
    const response = evaluator.classify(keys, request)
    serverMs.push(performance.now() - started)
    requestBytes.push(request.length)
    responseBytes = response.length
    const got = owner.decrypt(response)
    const scale = Math.max(1, ...Array.from(expected, Math.abs))
    for (let o = 0; o < expected.length; o++) worst = Math.max(worst, Math.abs(got[o] - expected[o]) / scale)
  }
} finally {
  keys.dispose()
  evaluator.dispose()
  owner.dispose()
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]
console.table({
  arch: values.arch,
  input: values.input,
  'first conv packing': layers[0].type === 'conv2d' ? layers[0].packing : '-',
  params: `N=${he.polyModulusDegree}, q=[${he.coeffModulusBits}] bits, scale 2^${he.scaleBits}`,
  'rotation steps': `[${manifest.plan.rotationSteps}]`,
  'evaluation keys (bytes)': keyBytes,
  'request (bytes, median)': median(requestBytes),
  'response (bytes)': responseBytes,
  'server ms (median, one thread)': Math.round(median(serverMs)),
  'evaluator build ms': Math.round(buildMs),
  'worst relative logit error': worst.toExponential(2),
  images: serverMs.length,
})
