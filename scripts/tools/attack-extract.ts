/**
 * npm run attack:extract -- --model DIR [--queries 100,300,1000,3000,10000 --sigma 0,0.5,1.5,3 --steps 500 --free 1000,10000 --out docs/benchmarks/attack/mnist-cnn-extraction.json]
 *
 * Model extraction against an MNIST model of mnist-cnn 1.0.0's network
 * (conv -> square -> dense; `npm run train:tfjs -- --out DIR` trains one),
 * with and without the mitigations a model owner can configure. The shipped
 * mnist-cnn 2.0.0 (poly, staggered pool) is another network; the student
 * below builds only this one.
 *
 * The attack. The server cannot tell a real image from a chosen vector and
 * returns ten exact logits per query. The architecture and geometry are
 * public (GET /api/v1/models): conv 5x5, stride 1, 40 filters -> x^2 ->
 * dense 10 (README: trained with a 2x2 average pool after the square, folded
 * into the dense weights at export). The attacker queries N public digits
 * (the first N of a seeded shuffle of the 60,000 official MNIST TRAINING
 * images; `--free 1000,10000` adds a data-free variant, exact logits only,
 * with uniform random pixels as queries), and trains a student of the same
 * architecture (conv 5x5/1, 40 filters -> x^2 -> avg-pool 2x2 -> dense 10,
 * no batch-norm, seeded) with
 * @tensorflow/tfjs (WASM backend, one thread) on the returned logits: MSE
 * on the logits (default), or cross-entropy against the softmax of the
 * returned logits (`--loss kl`). The curve is the argmax agreement between
 * student and real model on all 10,000 official MNIST TEST images (never
 * queried), and the student's own accuracy, against N.
 *
 * The oracle. Queries are answered by the plaintext reference forward pass
 * (src/model/forward.ts, float64) with the real weights, not by the encrypted
 * API: the encrypted logits match the plaintext ones within the engine test
 * tolerance (src/he/engine.test.ts, |error| < 1e-3; the measured error is in
 * docs/benchmarks/mnist-cnn/1.0.0-full-test-set.json), orders of magnitude
 * below the smallest noise this run tries, and the plaintext pass is far
 * cheaper.
 *
 * The mitigations. Logit noise (--sigma): the server adds N(0, sigma^2) to
 * each logit before returning it (src/model/logit-noise.ts, which the server's
 * evaluator imports; it cannot round under encryption). Here each query's
 * noise is drawn once from a seeded source so the run is reproducible; the
 * server draws from the CSPRNG. Its cost to honest users is measured as the
 * real model's test accuracy with noisy logits, averaged over --draws noise
 * draws. Query budgets (per key, per client) simply cap N: read the curve at
 * the budget.
 *
 * Nested query sets: the N = 300 queries are the first 300 of the N = 1000
 * ones, with the same noisy answers. Training runs a fixed number of steps
 * (--steps, batch --batch, cosine-decayed Adam), so small query sets get
 * more epochs; --epochs E instead trains E passes over each query set.
 */
import * as tf from '@tensorflow/tfjs'
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm'
import { writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { loadModelDir } from '../../src/datasets/model-files'
import { argmax, firstConvGeometry, forward, normalise } from '../../src/model/forward'
import { convShape, im2col } from '../../src/model/geometry'
import { gaussianNoise } from '../../src/model/logit-noise'
import { loadMnistSplit as loadMnist } from '../../src/datasets'
import { seededRandom } from '../../src/model/seeded-random'
import { helpIfAsked } from '../help'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({
  options: {
    queries: { type: 'string', default: '100,300,1000,3000,10000' },
    sigma: { type: 'string', default: '0,0.5,1.5,3' },
    steps: { type: 'string', default: '500' },
    epochs: { type: 'string' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '0.003' },
    loss: { type: 'string', default: 'mse' },
    free: { type: 'string', default: '' },
    seed: { type: 'string', default: '1' },
    draws: { type: 'string', default: '10' },
    model: { type: 'string' },
    out: { type: 'string' },
  },
})

const QUERIES = args.queries!.split(',').map(Number).sort((a, b) => a - b)
const SIGMAS = args.sigma!.split(',').map(Number)
const STEPS = Number(args.steps)
const EPOCHS = args.epochs === undefined ? undefined : Number(args.epochs)
const BATCH = Number(args.batch)
const LR = Number(args.lr)
const LOSS = args.loss === 'kl' ? 'kl' : 'mse'
/** data-free variant: query counts with uniform random pixels (sigma 0 only) */
const FREE = args.free ? args.free.split(',').map(Number).sort((a, b) => a - b) : []
const SEED = Number(args.seed)
const DRAWS = Number(args.draws)
if ([...QUERIES, ...FREE].some((n) => !Number.isInteger(n) || n < 1 || n > 60_000)) throw new Error('--queries, --free: integers in 1..60000')
if (SIGMAS.some((s) => !Number.isFinite(s) || s < 0)) throw new Error('--sigma: numbers >= 0')


function shuffle(a: Int32Array, random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[a[i], a[j]] = [a[j], a[i]]
  }
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`

async function main() {
  const started = performance.now()
  setThreadsCount(1)
  await tf.setBackend('wasm')
  await tf.ready()

  // ---- the victim: weights known only to the oracle ----
  if (!args.model) throw new Error('usage: npm run attack:extract -- --model DIR [options] (--help lists them)')
  const { manifest, weights } = await loadModelDir(args.model)
  const geometry = firstConvGeometry(manifest)
  const { positions: P, taps: T, outH, outW } = convShape(geometry)
  const conv = manifest.layers[0]
  if (conv.type !== 'conv2d' || manifest.layers.map((l) => l.type).join() !== 'conv2d,square,dense')
    throw new Error(`attack: ${args.model} is not conv2d -> square -> dense, mnist-cnn 1.0.0's network (npm run train:tfjs -- --out DIR trains one)`)
  const FILTERS = conv.filters
  const POOL = 2
  const POOLED = (outH / POOL) * (outW / POOL)
  const FILL = -manifest.input.mean[0] / manifest.input.std[0]
  const exactLogits = (img: Float32Array) => forward(manifest, weights, img)

  const train = loadMnist('train')
  const test = loadMnist('test')
  const maxQueries = QUERIES[QUERIES.length - 1]

  // ---- query inputs (normalised), in the order the attacker sends them ----
  const queries = new Float32Array(maxQueries * 784)
  const order = Int32Array.from({ length: train.count }, (_, i) => i)
  shuffle(order, seededRandom(SEED * 1000 + 1))
  for (let q = 0; q < maxQueries; q++) queries.set(normalise(train.images.subarray(order[q] * 784, order[q] * 784 + 784), manifest), q * 784)

  // ---- the oracle's exact answers (noise is added per sigma below) ----
  const oracle = (inputs: Float32Array, count: number) => {
    const out = new Float64Array(count * 10)
    for (let q = 0; q < count; q++) out.set(exactLogits(inputs.subarray(q * 784, q * 784 + 784)), q * 10)
    return out
  }
  const t = performance.now()
  const queryLogits = oracle(queries, maxQueries)
  const testImages = new Float32Array(test.count * 784)
  for (let i = 0; i < test.count; i++) testImages.set(normalise(test.images.subarray(i * 784, i * 784 + 784), manifest), i * 784)
  const testLogits = new Float64Array(test.count * 10)
  const realPred = new Int32Array(test.count)
  let realCorrect = 0
  for (let i = 0; i < test.count; i++) {
    const l = exactLogits(testImages.subarray(i * 784, i * 784 + 784))
    testLogits.set(l, i * 10)
    realPred[i] = argmax(l)
    if (realPred[i] === test.labels[i]) realCorrect++
  }
  const realAccuracy = realCorrect / test.count
  console.log(
    `backend ${tf.getBackend()} (1 thread); oracle: plaintext forward of ${manifest.name}@${manifest.version}, ` +
      `${maxQueries} queries + ${test.count} test images in ${((performance.now() - t) / 1000).toFixed(1)} s; ` +
      `real model test accuracy ${pct(realAccuracy)}`,
  )

  // ---- the cost of noise to honest users: real model's accuracy with noisy logits ----
  const realUnderNoise = new Map<number, { mean: number; min: number; max: number; draws: number }>()
  for (const sigma of SIGMAS) {
    const noiseRandom = seededRandom(SEED * 1000 + 500 + Math.round(sigma * 1000))
    const accs: number[] = []
    for (let d = 0; d < (sigma === 0 ? 1 : DRAWS); d++) {
      const noise = gaussianNoise(test.count * 10, sigma, noiseRandom)
      let correct = 0
      for (let i = 0; i < test.count; i++) {
        let best = 0
        for (let o = 1; o < 10; o++) if (testLogits[i * 10 + o] + noise[i * 10 + o] > testLogits[i * 10 + best] + noise[i * 10 + best]) best = o
        if (best === test.labels[i]) correct++
      }
      accs.push(correct / test.count)
    }
    const mean = accs.reduce((a, b) => a + b, 0) / accs.length
    realUnderNoise.set(sigma, { mean, min: Math.min(...accs), max: Math.max(...accs), draws: accs.length })
    console.log(`sigma ${sigma}: real model accuracy with noisy logits ${pct(mean)} (min ${pct(Math.min(...accs))}, max ${pct(Math.max(...accs))}, ${accs.length} draws)`)
  }

  // ---- the student ----
  function patches(images: Float32Array, idx: ArrayLike<number>): Float32Array {
    // tfjs wants [batch * positions, taps]; im2col writes tap-major: transpose per image
    const out = new Float32Array(idx.length * P * T)
    const tapMajor = new Float32Array(P * T)
    for (let i = 0; i < idx.length; i++) {
      im2col(images.subarray(idx[i] * 784, idx[i] * 784 + 784), geometry, tapMajor, 0, FILL)
      const base = i * P * T
      for (let tap = 0; tap < T; tap++) for (let p = 0; p < P; p++) out[base + p * T + tap] = tapMajor[tap * P + p]
    }
    return out
  }

  function student(seed: number) {
    const kernel = tf.variable(tf.randomNormal([T, FILTERS], 0, Math.sqrt(1 / T), 'float32', seed))
    const bias = tf.variable(tf.zeros([FILTERS]))
    const dense = tf.variable(tf.randomNormal([POOLED * FILTERS, 10], 0, Math.sqrt(1 / (POOLED * FILTERS)), 'float32', seed + 1))
    const denseBias = tf.variable(tf.zeros([10]))
    const logits = (x: tf.Tensor2D, batch: number) =>
      tf.matMul(
        tf.matMul(x, kernel).add(bias).square().reshape([batch, outH / POOL, POOL, outW / POOL, POOL, FILTERS]).mean([2, 4]).reshape([batch, POOLED * FILTERS]),
        dense,
      ).add(denseBias) as tf.Tensor2D
    return { vars: [kernel, bias, dense, denseBias], logits }
  }

  /** agreement with the real model, accuracy, and RMS logit difference on the test set */
  function evaluate(logitsOf: (x: tf.Tensor2D, batch: number) => tf.Tensor2D) {
    let agree = 0
    let correct = 0
    let sq = 0
    const chunk = 500
    for (let s = 0; s < test.count; s += chunk) {
      const idx = Int32Array.from({ length: Math.min(chunk, test.count - s) }, (_, i) => s + i)
      const out = tf.tidy(() => logitsOf(tf.tensor2d(patches(testImages, idx), [idx.length * P, T]), idx.length))
      const v = out.dataSync()
      out.dispose()
      for (let i = 0; i < idx.length; i++) {
        const k = idx[i]
        const pred = argmax(v.subarray(i * 10, i * 10 + 10))
        if (pred === realPred[k]) agree++
        if (pred === test.labels[k]) correct++
        for (let o = 0; o < 10; o++) sq += (v[i * 10 + o] - testLogits[k * 10 + o]) ** 2
      }
    }
    return { agreement: agree / test.count, accuracy: correct / test.count, logitRmse: Math.sqrt(sq / (test.count * 10)) }
  }

  interface Point {
    sigma: number
    queries: number
    inputs: string
    loss: string
    steps: number
    epochs: number
    agreement: number
    studentAccuracy: number
    studentLogitRmse: number
    realAccuracyNoisy: number
    realAccuracyExact: number
    trainLoss: number
    seconds: number
  }
  const points: Point[] = []
  const save = () => {
    if (!args.out) return
    const report = {
      command: `npm run attack:extract -- ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(),
      machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} vCPU (shared), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      backend: `${tf.getBackend()}, 1 thread`,
      model: `${manifest.name}@${manifest.version} (${manifest.contentHash.slice(0, 12)})`,
      oracle:
        'plaintext reference forward pass (src/model/forward.ts) with the real weights; the encrypted logits match it within the engine test tolerance (max |logit error| 3.4e-5 on 10,000 test images, docs/benchmarks/mnist-cnn/1.0.0-full-test-set.json)',
      queriesFrom: {
        mnist: 'first N of a seeded shuffle of the 60,000 MNIST training images',
        uniform: 'data-free: first N of a seeded stream of images with uniform random pixels 0..255',
      },
      evaluatedOn: `${test.count} official MNIST test images (never queried)`,
      student: `conv 5x5/1 (${FILTERS} filters) -> x^2 -> avg-pool 2x2 -> dense 10, tfjs, adam lr ${LR} cosine-decayed, batch ${BATCH}, loss ${LOSS === 'mse' ? 'MSE on logits' : 'cross-entropy against softmax of returned logits'}, seed ${SEED}`,
      settings: { queries: QUERIES, sigma: SIGMAS, steps: STEPS, epochs: EPOCHS ?? null, batch: BATCH, lr: LR, loss: LOSS, free: FREE, seed: SEED, draws: DRAWS },
      realModel: {
        accuracyExact: realAccuracy,
        underNoise: SIGMAS.map((sigma) => ({ sigma, ...realUnderNoise.get(sigma)! })),
      },
      points,
      totalSeconds: (performance.now() - started) / 1000,
    }
    writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`)
  }

  /** train a fresh student on the first n (input, answer) pairs, evaluate it, record the point */
  function attack(inputs: Float32Array, answers: Float32Array, n: number, sigma: number, kind: string): Point {
    const pointStart = performance.now()
    const batch = Math.min(BATCH, n)
    const stepsPerEpoch = Math.ceil(n / batch)
    const steps = EPOCHS !== undefined ? EPOCHS * stepsPerEpoch : STEPS
    const s = student(SEED * 7919)
    const optimizer = tf.train.adam(LR)
    const random = seededRandom(SEED * 1000 + 7)
    const order = Int32Array.from({ length: n }, (_, i) => i)
    let at = n
    let lossTail = 0
    let lossCount = 0
    for (let step = 0; step < steps; step++) {
      ;(optimizer as unknown as { learningRate: number }).learningRate = LR * 0.5 * (1 + Math.cos((Math.PI * step) / steps))
      if (at + batch > n) {
        shuffle(order, random)
        at = 0
      }
      const idx = order.subarray(at, at + batch)
      at += batch
      const target = new Float32Array(batch * 10)
      for (let i = 0; i < batch; i++) target.set(answers.subarray(idx[i] * 10, idx[i] * 10 + 10), i * 10)
      const xs = tf.tensor2d(patches(inputs, idx), [batch * P, T])
      const ys = tf.tensor2d(target, [batch, 10])
      const loss = optimizer.minimize(() => {
        const out = s.logits(xs, batch)
        return (LOSS === 'mse' ? tf.losses.meanSquaredError(ys, out) : tf.losses.softmaxCrossEntropy(tf.softmax(ys), out)) as tf.Scalar
      }, true)!
      if (step >= steps - Math.min(50, steps)) {
        lossTail += loss.dataSync()[0]
        lossCount++
      }
      tf.dispose([xs, ys, loss])
    }
    const e = evaluate(s.logits)
    tf.dispose(s.vars)
    optimizer.dispose()
    const point: Point = {
      sigma,
      queries: n,
      inputs: kind,
      loss: LOSS,
      steps,
      epochs: (steps * batch) / n,
      agreement: e.agreement,
      studentAccuracy: e.accuracy,
      studentLogitRmse: e.logitRmse,
      realAccuracyNoisy: realUnderNoise.get(sigma)?.mean ?? realAccuracy,
      realAccuracyExact: realAccuracy,
      trainLoss: lossTail / lossCount,
      seconds: (performance.now() - pointStart) / 1000,
    }
    points.push(point)
    console.log(
      `${kind} sigma ${sigma} queries ${n}: agreement ${pct(e.agreement)}, student accuracy ${pct(e.accuracy)}, ` +
        `logit RMSE ${e.logitRmse.toFixed(3)}, train loss ${point.trainLoss.toFixed(4)} (${steps} steps, ${point.epochs.toFixed(1)} epochs, ${point.seconds.toFixed(0)} s)`,
    )
    save()
    return point
  }

  for (const sigma of SIGMAS) {
    // one noisy answer per query, fixed for the whole run (nested query sets see the same answers)
    const noise = gaussianNoise(maxQueries * 10, sigma, seededRandom(SEED * 1000 + 900 + Math.round(sigma * 1000)))
    const answers = Float32Array.from(noise, (v, i) => queryLogits[i] + v)
    for (const n of QUERIES) attack(queries, answers, n, sigma, 'mnist')
  }

  // ---- data-free variant: uniform random pixels, exact logits ----
  if (FREE.length > 0) {
    const maxFree = FREE[FREE.length - 1]
    const random = seededRandom(SEED * 1000 + 2)
    const free = new Float32Array(maxFree * 784)
    const px = new Uint8Array(784)
    for (let q = 0; q < maxFree; q++) {
      for (let j = 0; j < 784; j++) px[j] = Math.floor(random() * 256)
      free.set(normalise(px, manifest), q * 784)
    }
    const answers = Float32Array.from(oracle(free, maxFree))
    for (const n of FREE) attack(free, answers, n, 0, 'uniform')
  }

  // ---- table ----
  console.log(`\nagreement with the real model (student accuracy) on ${test.count} test images; real model ${pct(realAccuracy)} with exact logits`)
  const header = ['queries', ...SIGMAS.map((s) => `sigma ${s} (real ${pct(realUnderNoise.get(s)!.mean)})`)]
  const rows = QUERIES.map((n) => [
    String(n),
    ...SIGMAS.map((s) => {
      const p = points.find((q) => q.inputs === 'mnist' && q.sigma === s && q.queries === n)!
      return `${pct(p.agreement)} (${pct(p.studentAccuracy)})`
    }),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  for (const r of [header, widths.map((w) => '-'.repeat(w)), ...rows]) console.log(r.map((c, i) => c.padStart(widths[i])).join('  '))
  for (const p of points.filter((q) => q.inputs === 'uniform'))
    console.log(`data-free (uniform random pixels), exact logits, ${p.queries} queries: agreement ${pct(p.agreement)} (student accuracy ${pct(p.studentAccuracy)})`)
  console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`)
  save()
}

await main()
