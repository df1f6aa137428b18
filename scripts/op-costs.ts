/**
 * What each SEAL operation costs at every level of one model's modulus chain,
 * on this machine: the unit prices behind a plan's stage times (a stage is
 * rotations + plaintext products + additions + one rescale; see
 * src/he/plan.ts). Used to weigh layouts before building them, e.g. that a
 * Fashion dense stage's 512 products cost about what its 57 rotations do.
 *
 *   node --import tsx scripts/op-costs.ts [--model fashion-cnn] [--repeat 30]
 *
 * Medians of `repeat` runs on one thread (products and additions: 3x as many),
 * timed as the benchmark's machine-speed probe times its own.
 * Every handle is freed before it exits.
 */
import { parseArgs } from 'node:util'
import { createHeContext, loadSeal } from '../src/he/context'
import { loadModelDir, MODELS_DIR } from '../server/model-files'
import { timeEach as median } from './machine-speed'

const { values: args } = parseArgs({ options: { model: { type: 'string', default: 'fashion-cnn' }, repeat: { type: 'string', default: '30' } } })
const repeat = Number(args.repeat)
const { manifest } = await loadModelDir(`${MODELS_DIR}/${args.model}`)
const seal = await loadSeal()
const he = createHeContext(seal, manifest.he)
const handles: Array<{ delete(): void }> = []
const keep = <T extends { delete(): void }>(h: T): T => (handles.push(h), h)

try {
  const { context } = he
  const keygen = keep(new seal.KeyGenerator(context))
  const encoder = keep(new seal.CKKSEncoder(context))
  const encryptor = keep(new seal.Encryptor(context, keep(keygen.createPublicKey()), keep(keygen.secretKey())))
  const evaluator = keep(new seal.Evaluator(context))
  const relin = keep(keygen.createRelinKeys())
  const galois = keep(keygen.createGaloisKeysWithSteps(Int32Array.from([1])))
  const values = Float64Array.from({ length: encoder.slotCount() }, (_, i) => Math.sin(i) / 4)
  const scale = 2 ** manifest.he.scaleBits
  const fresh = keep(new seal.Ciphertext())
  const plain = keep(new seal.Plaintext())
  encoder.encode(values, scale, plain)
  encryptor.encrypt(plain, fresh)
  const out = keep(new seal.Ciphertext())
  const rows: Record<string, number>[] = []
  // the last level has nothing left to rescale by
  for (let l = 0; l < he.levels.length - 1; l++) {
    const { parmsId } = he.levels[l]
    const ct = keep(new seal.Ciphertext())
    evaluator.cipherModSwitchTo(fresh, parmsId, ct)
    const weights = keep(new seal.Plaintext())
    encoder.encode(values, scale, weights)
    evaluator.plainModSwitchToInplace(weights, parmsId)
    const rotate = median(repeat, () => evaluator.rotateVector(ct, 1, galois, out))
    const product = median(3 * repeat, () => evaluator.multiplyPlain(ct, weights, out))
    const add = median(3 * repeat, () => evaluator.add(ct, ct, out))
    // a rescale needs a product's result to act on: timed together, the product's median taken off
    const rescale =
      median(repeat, () => {
        evaluator.multiplyPlain(ct, weights, out)
        evaluator.rescaleToNextInplace(out)
      }) - product
    const square = median(repeat, () => {
      evaluator.square(ct, out)
      evaluator.relinearizeInplace(out, relin)
      evaluator.rescaleToNextInplace(out)
    })
    rows.push({
      level: l,
      primes: he.levels[l].primes,
      'rotate ms': +rotate.toFixed(2),
      'plaintext product ms': +product.toFixed(3),
      'add ms': +add.toFixed(3),
      'rescale ms': +rescale.toFixed(2),
      'square+relin+rescale ms': +square.toFixed(2),
    })
  }
  console.log(`${manifest.name}@${manifest.version}: N = ${manifest.he.polyModulusDegree}, q = [${manifest.he.coeffModulusBits}] bits; medians, one thread`)
  console.table(rows)
} finally {
  for (const h of handles.reverse()) h.delete()
  he.dispose()
}
