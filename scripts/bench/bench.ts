/**
 * npm run bench -- [--images 1000] [--out bench-results/engine.json] [--threads N] [--model mnist-cnn | --model-dir DIR] [--split K] [--price-repeat 3]
 *
 * Encrypted inference on the official test images of the model's data set
 * (manifest `dataset`: MNIST, Fashion-MNIST, CIFAR-10), end to end through
 * bytes: keygen, encrypt, server evaluation, decrypt, against the plaintext
 * model. Images are spread over worker threads (default: one per core), each
 * with its own SEAL instances for the client and the server role; the server
 * evaluates one image at a time on one thread.
 *
 * `--split K` (default 10) then classifies K more
 * images one at a time through the server's real worker pool with one image
 * shared by all its workers (SPLIT_IMAGES=auto): `ms.serverSplit`.
 *
 * `floor`: the plan's SEAL operations per stage (src/he/op-counts.ts) priced
 * at unit prices sampled at the model's parameters just before each image
 * (in the image's thread, a SEAL instance of their own, `--price-repeat` calls
 * per operation and level), next to each stage's measured time (floor.ts).
 * `loadAverage` records the machine's load before and after: on a shared
 * machine the times move with it.
 *
 * `machineSpeed` times a fixed SEAL workload before and after the run (one
 * thread, nothing else of the bench running), so runs on different days can
 * be told apart by the machine's speed as well as by the code's. It runs in a
 * thread of its own, so its SEAL heap is gone again and not in `peakRssMB`.
 */
import SEAL from 'node-seal'
import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { loadModelDir, MODELS_DIR, type ModelFiles } from '../../src/datasets/model-files'
import { WorkerPool } from '../../server/pool/pool'
import { ModelEvaluator } from '../../src/he/evaluator'
import { KeyOwner } from '../../src/he/key-owner'
import { argmax, forward, normalise } from '../../src/model/forward'
import { publicModel } from '../../src/he/public-model'
import { imageAt, loadSplit } from '../../src/datasets'
import { derivePlan } from '../../src/he/plan'
import { planFloor } from './floor'
import { machineSpeed, type MachineSpeed } from './machine-speed'
import { UnitPriceProbe, type LevelPrices } from './unit-prices'
import { helpIfAsked } from '../help'
helpIfAsked(import.meta.url)

interface ImageRecord {
  index: number
  label: number
  encrypted: number
  plaintext: number
  maxError: number
  encryptMs: number
  serverMs: number
  /** per plan stage */
  stageMs: number[]
  decryptMs: number
  /** unit prices sampled just before the image */
  prices: LevelPrices[]
  requestBytes: number
  responseBytes: number
}
interface WorkerResult {
  keygenMs: number
  stages: string[]
  evaluationKeyBytes: number
  records: ImageRecord[]
}

async function runShard(modelDir: string, indices: number[], priceRepeat: number, report?: (done: number) => void): Promise<WorkerResult> {
  const { manifest, weights } = await loadModelDir(modelDir)
  // the levels the plan's stages act at: one per stage, and the one its last fold acts at
  const probe = new UnitPriceProbe(await SEAL(), manifest.he, derivePlan(manifest).depth + 1)
  const test = loadSplit(manifest.dataset ?? 'mnist', 'test')
  const t0 = performance.now()
  const owner = await KeyOwner.create(publicModel(manifest), await SEAL())
  const keygenMs = performance.now() - t0
  const evaluator = await ModelEvaluator.create(manifest, weights, await SEAL())
  const keys = evaluator.loadKeys(owner.evaluationKeys)
  const records: ImageRecord[] = []
  try {
    for (const index of indices) {
      const x = normalise(imageAt(test, index), manifest)
      const prices = probe.measure(priceRepeat)
      const a = performance.now()
      const request = owner.encrypt(x)
      const b = performance.now()
      const stageMs: number[] = []
      const response = evaluator.classify(keys, request, { stageMs })
      const c = performance.now()
      const logits = owner.decrypt(response)
      const d = performance.now()
      const reference = forward(manifest, weights, x)
      let maxError = 0
      for (let o = 0; o < logits.length; o++) maxError = Math.max(maxError, Math.abs(logits[o] - reference[o]))
      records.push({
        index,
        label: test.labels[index],
        encrypted: argmax(logits),
        plaintext: argmax(reference),
        maxError,
        encryptMs: b - a,
        serverMs: c - b,
        stageMs,
        decryptMs: d - c,
        prices,
        requestBytes: request.byteLength,
        responseBytes: response.byteLength,
      })
      report?.(records.length)
    }
  } finally {
    keys.dispose()
    evaluator.dispose()
    owner.dispose()
    probe.dispose()
  }
  const stages = evaluator.plan.stages.map((s) =>
    s.kind === 'linear'
      ? s.layers.map((l) => manifest.layers[l].type).join('+')
      : `${manifest.layers[s.layer].type} (layer ${s.layer}, evaluated as ${s.kind === 'square' ? 'a square' : 'a ciphertext product'})`,
  )
  return { keygenMs, stages, evaluationKeyBytes: owner.evaluationKeys.byteLength, records }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function main() {
  const { values } = parseArgs({
    options: {
      images: { type: 'string', default: '200' },
      out: { type: 'string', default: 'bench-results/engine.json' },
      threads: { type: 'string', default: String(availableParallelism()) },
      model: { type: 'string', default: 'mnist-cnn' },
      'model-dir': { type: 'string' },
      split: { type: 'string' },
      'price-repeat': { type: 'string', default: '3' },
    },
  })
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim()
  const loadBefore = loadavg()
  const modelDir = values['model-dir'] ?? `${MODELS_DIR}/${values.model}`
  const images = Math.min(10_000, Math.max(1, Number(values.images)))
  const threads = Math.max(1, Math.min(Number(values.threads), images))
  const files = await loadModelDir(modelDir)
  const { manifest } = files
  const splitImages = Math.max(0, Number(values.split ?? 10))
  console.log(`bench: ${images} images of the official ${manifest.dataset ?? 'mnist'} test set, model ${manifest.name}@${manifest.version}, ${threads} worker thread(s)`)

  const speedBefore = await machineSpeedInThread()
  const priceRepeat = Math.max(1, Number(values['price-repeat']))
  let peakRss = process.memoryUsage().rss
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200)
  const started = performance.now()
  const progress = new Array<number>(threads).fill(0)
  let lastPrint = 0
  const shards = Array.from({ length: threads }, (_, t) => {
    const indices: number[] = []
    for (let i = t; i < images; i += threads) indices.push(i)
    return new Promise<WorkerResult>((resolve, reject) => {
      const worker = new Worker(WORKER_ENTRY, { workerData: { modelDir, indices, priceRepeat } })
      worker.on('message', (m: { done?: number; result?: WorkerResult }) => {
        if (m.result) resolve(m.result)
        if (m.done !== undefined) {
          progress[t] = m.done
          const done = progress.reduce((a, b) => a + b, 0)
          if (performance.now() - lastPrint > 15_000) {
            lastPrint = performance.now()
            console.log(`  ${done}/${images} images, ${((performance.now() - started) / 1000).toFixed(0)} s`)
          }
        }
      })
      worker.on('error', reject)
      worker.on('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)))
    })
  })
  const results = await Promise.all(shards)
  const wallS = (performance.now() - started) / 1000
  const split = splitImages > 0 ? await benchSplit(files, splitImages) : undefined
  clearInterval(sampler)
  const speedAfter = await machineSpeedInThread()
  const records = results.flatMap((r) => r.records)
  const n = records.length
  /** median server time of each plan stage, in order (a stage = a run of linear layers, or an activation) */
  const stageMs = results[0].stages.map((name, i) => ({ stage: name, ms: median(records.map((r) => r.stageMs[i])) }))
  const floor = planFloor(derivePlan(manifest), results[0].stages, records, priceRepeat)
  const result = {
    date: new Date().toISOString(),
    machine: machineDescription(),
    command,
    /** os.loadavg() (1, 5, 15 minutes) before and after the run */
    loadAverage: { before: loadBefore, after: loadavg() },
    model: `${manifest.name}@${manifest.version}`,
    description: manifest.description,
    contentHash: manifest.contentHash,
    images: n,
    threads,
    accuracy: records.filter((r) => r.encrypted === r.label).length / n,
    plaintextAccuracy: records.filter((r) => r.plaintext === r.label).length / n,
    agreement: records.filter((r) => r.encrypted === r.plaintext).length / n,
    maxLogitError: Math.max(...records.map((r) => r.maxError)),
    ms: {
      keygen: median(results.map((r) => r.keygenMs)),
      encrypt: median(records.map((r) => r.encryptMs)),
      server: median(records.map((r) => r.serverMs)),
      decrypt: median(records.map((r) => r.decryptMs)),
      /** one image shared by every pool worker (idle server), worker time of the lead; absent without --split */
      serverSplit: split ? median(split.map((r) => r.ms)) : undefined,
      /** the same, from submit to answer in the pool (thread hops included) */
      serverSplitWall: split ? median(split.map((r) => r.wallMs)) : undefined,
    },
    split: split ? { images: split.length, workers: split[0].parts, agreement: split.filter((r) => r.encrypted === r.plaintext).length / split.length, maxLogitError: Math.max(...split.map((r) => r.maxError)) } : undefined,
    stageMs,
    floor,
    serverMsP95: [...records.map((r) => r.serverMs)].sort((a, b) => a - b)[Math.floor(0.95 * (n - 1))],
    wallSeconds: wallS,
    imagesPerSecond: n / wallS,
    bytes: {
      evaluationKeys: results[0].evaluationKeyBytes,
      requestPerImage: median(records.map((r) => r.requestBytes)),
      responsePerImage: median(records.map((r) => r.responseBytes)),
    },
    peakRssMB: peakRss / 2 ** 20,
    params: {
      polyModulusDegree: manifest.he.polyModulusDegree,
      coeffModulusBits: manifest.he.coeffModulusBits,
      scaleBits: manifest.he.scaleBits,
      securityLevel: manifest.he.securityLevel,
    },
    rotationSteps: manifest.plan.rotationSteps,
    machineSpeed: { before: speedBefore, after: speedAfter },
    disagreements: records.filter((r) => r.encrypted !== r.plaintext).map((r) => r.index),
  }
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`
  console.table({
    images: n,
    'accuracy (encrypted)': `${(result.accuracy * 100).toFixed(2)}%`,
    'accuracy (plaintext)': `${(result.plaintextAccuracy * 100).toFixed(2)}%`,
    agreement: `${(result.agreement * 100).toFixed(2)}%`,
    'max |logit error|': result.maxLogitError.toExponential(2),
    'keygen ms (median)': result.ms.keygen.toFixed(0),
    'encrypt ms (median)': result.ms.encrypt.toFixed(1),
    'server ms (median)': result.ms.server.toFixed(0),
    ...(split ? { [`server ms, one image on ${split[0].parts} workers`]: result.ms.serverSplit!.toFixed(0) } : {}),
    'decrypt ms (median)': result.ms.decrypt.toFixed(1),
    'evaluation keys': `${(result.bytes.evaluationKeys / 2 ** 20).toFixed(2)} MB`,
    'request / image': kb(result.bytes.requestPerImage),
    'response / image': kb(result.bytes.responsePerImage),
    'peak RSS': `${result.peakRssMB.toFixed(0)} MB`,
    params: `N=${result.params.polyModulusDegree}, q=[${result.params.coeffModulusBits}] bits, ${result.params.securityLevel}`,
    'machine speed (rotate / product ms)': [speedBefore, speedAfter].map((x) => `${x.rotateMs.toFixed(1)} / ${x.multiplyPlainMs.toFixed(2)}`).join(' before, ') + ' after',
  })
  console.log(`floor: the plan's operations at unit prices sampled beside each image; medians over the images (load average ${loadBefore.map((x) => x.toFixed(1)).join(' / ')})`)
  console.table(
    floor.stages.map((s) => ({
      stage: s.stage,
      rotations: s.totals.rotations,
      'plaintext products': s.totals.plainProducts,
      'ciphertext products': s.totals.squares + s.totals.products,
      rescales: s.totals.rescales,
      'floor ms': +s.floorMs.toFixed(1),
      'measured ms': +s.measuredMs.toFixed(1),
      'measured / floor': +s.ratio.toFixed(2),
    })),
  )
  console.log(`total: floor ${floor.total.floorMs.toFixed(1)} ms, measured ${floor.total.measuredMs.toFixed(1)} ms, ratio ${floor.total.ratio.toFixed(2)}`)
  mkdirSync(dirname(values.out!), { recursive: true })
  writeFileSync(values.out!, JSON.stringify(result, null, 2) + '\n')
  console.log(`wrote ${values.out}`)
}

/** How many probe images benchSplit sends at most, waiting for one shared by every worker. */
const SETTLE_PROBES = 40

/** K images one at a time through a real WorkerPool whose workers share each image (an idle server). */
async function benchSplit(files: ModelFiles, count: number) {
  const { manifest, weights } = files
  const test = loadSplit(manifest.dataset ?? 'mnist', 'test')
  const name = manifest.name
  const pool = new WorkerPool({
    models: new Map([[name, files]]),
    size: availableParallelism(),
    queueMax: 4,
    timeoutMs: 600_000,
    keyCache: 2,
    shareImages: true,
  })
  const owner = await KeyOwner.create(publicModel(manifest), await SEAL())
  const out: Array<{ ms: number; wallMs: number; parts: number; encrypted: number; plaintext: number; maxError: number }> = []
  try {
    await pool.ready
    await pool.validateKeys('bench', name, owner.evaluationKeys)
    // the pool serves once one worker has built the model, while the others may still be building
    // it: images are measured from the first that every worker shares (the probes are not counted)
    const size = availableParallelism()
    const probe = owner.encrypt(normalise(imageAt(test, 0), manifest))
    let probes = 1
    while ((await pool.classify('bench', name, owner.evaluationKeys, probe)).parts < size) {
      if (++probes > SETTLE_PROBES) throw new Error(`split: no image shared by all ${size} workers after ${SETTLE_PROBES} probes`)
    }
    console.log(`split: ${count} images, each on ${size} pool workers (after ${probes} probe images)`)
    for (let i = 0; i < count; i++) {
      // images after the main run's, so nothing is measured twice
      const x = normalise(imageAt(test, test.count - 1 - i), manifest)
      const request = owner.encrypt(x)
      const t = performance.now()
      const r = await pool.classify('bench', name, owner.evaluationKeys, request)
      const wallMs = performance.now() - t
      const logits = owner.decrypt(r.response)
      const reference = forward(manifest, weights, x)
      const maxError = Math.max(...reference.map((v, o) => Math.abs(logits[o] - v)))
      out.push({ ms: r.ms, wallMs, parts: r.parts, encrypted: argmax(logits), plaintext: argmax(reference), maxError })
    }
  } finally {
    owner.dispose()
    await pool.close()
  }
  return out
}

const WORKER_ENTRY = new URL('./bench-worker-entry.mjs', import.meta.url)

/** The probe in a thread of its own: when the thread exits, its SEAL heap goes with it. */
function machineSpeedInThread(): Promise<MachineSpeed> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_ENTRY, { workerData: { probe: true } })
    worker.once('message', (m: { speed: MachineSpeed }) => resolve(m.speed))
    worker.once('error', reject)
    worker.once('exit', (code) => code !== 0 && reject(new Error(`machine speed probe exited with ${code}`)))
  })
}

function machineDescription(): string {
  return `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GB, Node ${process.version}`
}

if (isMainThread) {
  await main()
} else if ((workerData as { probe?: boolean }).probe) {
  parentPort!.postMessage({ speed: machineSpeed(await SEAL()) })
} else {
  const { modelDir, indices, priceRepeat } = workerData as { modelDir: string; indices: number[]; priceRepeat: number }
  const result = await runShard(modelDir, indices, priceRepeat, (done) => parentPort!.postMessage({ done }))
  parentPort!.postMessage({ result })
}
