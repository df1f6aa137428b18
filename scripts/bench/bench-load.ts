/**
 * Load benchmark of the inference server on loopback, in either mode:
 *   npm run bench:load -- [--mode embedded|distributed] [--pools 1,2] [--evaluators 1,2]
 *                         [--sessions 8,64] [--images 4] [--serial 20] [--out FILE]
 *
 * - embedded: the app in this process with POOL_SIZE = each of --pools.
 * - distributed: a real redis-server (Debian's, free loopback port, no persistence), K evaluator
 *   processes (`npm run evaluator`, POOL_SIZE=1 each, so K evaluators use K cores, as the
 *   embedded pool of K workers) for each K of --evaluators, and the API (an app with REDIS_URL)
 *   in this process.
 *
 * For each back end and each session count S: S sessions upload their keys, then every session
 * sends --images images one after another, all sessions at once (throughput, latency
 * percentiles, lost/wrong answers, key-cache hits and misses of that phase read from the
 * Prometheus metrics: the app's in embedded mode, every evaluator's in distributed mode). Then a
 * serial phase: one session, --serial images one at a time (the median is the per-image latency
 * without queueing; distributed minus embedded of the time outside the evaluation, at equal
 * cores, is what the queue costs).
 * Requests are encrypted before the clock starts and decrypted after it stops, so the client's
 * SEAL work is not timed. The model is mnist-cnn (MODELS_DIR's first if it has no mnist-cnn).
 */
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../server/app'
import { loadModels, MODELS_DIR } from '../../src/datasets/model-files'
import { testModels } from '../../server/test-support/models'
import { modelsDirWith, startEvaluator, TEST_JOB_MAC_KEY, type ServiceProcess } from '../../server/test-support/processes'
import { parse, sample, type Sample } from '../../server/test-support/prometheus'
import { startRedis } from '../../server/test-support/redis'
import { BINARY, headers, paths, type SessionCreated } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { argmax, forward, normalise } from '../../src/model/forward'
import { publicModel } from '../../src/he/public-model'
import { loadMnistSplit as loadMnist } from '../../src/datasets'
import { helpIfAsked } from '../help'
helpIfAsked(import.meta.url)

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'embedded' },
    pools: { type: 'string', default: '1,2' },
    evaluators: { type: 'string', default: '1,2' },
    sessions: { type: 'string', default: '8' },
    images: { type: 'string', default: '4' },
    serial: { type: 'string', default: '20' },
    out: { type: 'string' },
  },
})
if (values.mode !== 'embedded' && values.mode !== 'distributed') throw new Error('--mode: embedded or distributed')
const MODE = values.mode
const counts = (raw: string, max: number) => raw.split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 1 && n <= max)
const SESSIONS = counts(values.sessions!, 128)
const IMAGES = Math.min(Math.max(Number(values.images), 1), 20)
const SERIAL = Math.min(Math.max(Number(values.serial), 0), 200)
const CORES = counts(MODE === 'embedded' ? values.pools! : values.evaluators!, 8)

const models = process.env.MODELS_DIR ? await loadModels(process.env.MODELS_DIR) : await testModels()
const model = models.get('mnist-cnn') ?? [...models.values()][0]
const name = model.manifest.name
const mnist = loadMnist('test')

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d
const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50)

/** The server the clients talk to, and where its key-cache counters are read. */
interface Backend {
  base: string
  keyCache(): Promise<{ hits: number; misses: number }>
  stop(): Promise<void>
  /** what the back end's other processes printed last (shown when a run fails) */
  logs?(): string
}

const maxSessions = Math.max(...SESSIONS) + 1
const appLimits = {
  rateLimitMax: 0,
  queueMax: maxSessions * 2,
  sessionMax: maxSessions * 2,
  sessionsPerClient: maxSessions * 2,
  // every simulated client connects from loopback: one address
  connectionsPerClient: maxSessions * 4,
  sessionBytesPerClient: 4 * 1024 ** 3,
  sessionMaxBytes: 4 * 1024 ** 3,
  // 64 sessions' images arrive at once, minutes of work for 1-2 cores: nothing may time out
  requestTimeoutMs: 600_000,
  queueWaitMs: 600_000,
}

function keyCacheOf(samples: Sample[]): { hits: number; misses: number } {
  return { hits: sample(samples, 'blindfold_key_cache_total', { result: 'hit' }) ?? 0, misses: sample(samples, 'blindfold_key_cache_total', { result: 'miss' }) ?? 0 }
}

async function listen(app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' })
}

async function embedded(poolSize: number): Promise<Backend> {
  const app = await buildApp({ models, poolSize, ...appLimits })
  await app.blindfold.evaluation.ready
  const base = await listen(app)
  return {
    base,
    keyCache: async () => keyCacheOf(parse((await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).body)),
    stop: () => app.close(),
  }
}

async function distributed(evaluatorCount: number): Promise<Backend> {
  const redis = await startRedis()
  const dir = process.env.MODELS_DIR ? { dir: process.env.MODELS_DIR, remove() {} } : modelsDirWith([name])
  const evaluators: ServiceProcess[] = []
  try {
    // one worker each: K evaluators = K cores, as K pool workers in embedded mode
    for (let i = 0; i < evaluatorCount; i++) {
      evaluators.push(await startEvaluator({ REDIS_URL: redis.url, MODELS_DIR: dir.dir, POOL_SIZE: '1', REQUEST_TIMEOUT_MS: '600000', METRICS_PORT: '0', LOG_LEVEL: 'warn' }))
    }
    const app = await buildApp({ models, redisUrl: redis.url, jobMacKey: TEST_JOB_MAC_KEY, ...appLimits })
    await app.blindfold.evaluation.ready
    while (!app.blindfold.evaluation.isReady()) await new Promise((r) => setTimeout(r, 100))
    const base = await listen(app)
    const ports = evaluators.map((e) => /"metricsPort":(\d+)/.exec(e.output())![1])
    return {
      base,
      async keyCache() {
        const all = await Promise.all(ports.map(async (p) => keyCacheOf(parse(await (await fetch(`http://127.0.0.1:${p}/metrics`)).text()))))
        return all.reduce((a, b) => ({ hits: a.hits + b.hits, misses: a.misses + b.misses }))
      },
      logs: () => evaluators.map((e, i) => `evaluator ${i}:\n${e.output().slice(-4000)}`).join('\n'),
      async stop() {
        await app.close()
        await Promise.all(evaluators.map((e) => e.stop()))
        await redis.stop()
        dir.remove()
      },
    }
  } catch (e) {
    await Promise.all(evaluators.map((x) => x.stop()))
    await redis.stop()
    dir.remove()
    throw e
  }
}

console.log(`model ${name}; mode ${MODE}; ${MODE === 'embedded' ? 'pool sizes' : 'evaluators'} ${CORES.join(', ')}; sessions ${SESSIONS.join(', ')} x ${IMAGES} images; serial ${SERIAL}`)
const owners = await Promise.all(Array.from({ length: Math.max(...SESSIONS) }, () => KeyOwner.create(publicModel(model.manifest))))
/** per session, its images: the plaintext model's answer and the encrypted request */
const work = owners.map((owner, s) =>
  Array.from({ length: Math.max(IMAGES, s === 0 ? SERIAL : 0) }, (_, k) => {
    const i = (s * 50 + k) % mnist.count
    const x = normalise(mnist.images.subarray(i * 784, (i + 1) * 784), model.manifest)
    return { expected: argmax(forward(model.manifest, model.weights, x)), body: owner.encrypt(x) }
  }),
)

async function openSession(base: string, owner: KeyOwner): Promise<string> {
  const r = await fetch(`${base}${paths.sessions}?model=${name}`, { method: 'POST', headers: { 'content-type': BINARY }, body: owner.evaluationKeys })
  if (r.status !== 201) throw new Error(`session: ${r.status} ${await r.text()}`)
  return ((await r.json()) as SessionCreated).sessionId
}

async function classify(base: string, id: string, body: Uint8Array) {
  const t = performance.now()
  const r = await fetch(`${base}${paths.classify(id)}`, { method: 'POST', headers: { 'content-type': BINARY }, body })
  const bytes = new Uint8Array(await r.arrayBuffer())
  // the worker's own evaluation time (same meaning in both modes): what is left of the round trip is HTTP + queue
  return { status: r.status, bytes, ms: performance.now() - t, serverMs: Number(r.headers.get(headers.serverMs)) }
}

const runs = []
for (const cores of CORES) {
  const backend = MODE === 'embedded' ? await embedded(cores) : await distributed(cores)
  try {
    for (const sessionCount of SESSIONS) {
      // keys are uploaded four at a time (not timed): 64 uploads at once would queue 64 key validations
      // behind one core, and the last would wait past fetch's 300 s header timeout
      const ids: string[] = []
      for (let at = 0; at < sessionCount; at += 4) ids.push(...(await Promise.all(owners.slice(at, Math.min(at + 4, sessionCount)).map((o) => openSession(backend.base, o)))))
      const cacheBefore = await backend.keyCache()
      let peakRss = process.memoryUsage().rss
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50)
      const latencies: number[] = []
      const answers: Array<{ owner: KeyOwner; expected: number; bytes: Uint8Array }> = []
      let failed = 0
      const started = performance.now()
      await Promise.all(
        ids.map(async (id, s) => {
          for (const job of work[s].slice(0, IMAGES)) {
            const r = await classify(backend.base, id, job.body)
            latencies.push(r.ms)
            if (r.status === 200) answers.push({ owner: owners[s], expected: job.expected, bytes: r.bytes })
            else failed++
          }
        }),
      )
      const wallMs = performance.now() - started
      clearInterval(sampler)
      const cacheAfter = await backend.keyCache()
      const wrong = answers.filter((a) => argmax(a.owner.decrypt(a.bytes)) !== a.expected).length
      latencies.sort((a, b) => a - b)
      const hits = cacheAfter.hits - cacheBefore.hits
      const misses = cacheAfter.misses - cacheBefore.misses
      const images = sessionCount * IMAGES
      runs.push({
        mode: MODE,
        /** pool workers (embedded) or evaluator processes of one worker each (distributed) */
        cores,
        sessions: sessionCount,
        images,
        failed,
        wrong,
        wallMs: round(wallMs),
        imagesPerSecond: round((images * 1000) / wallMs, 2),
        latencyMs: { p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)), p99: round(percentile(latencies, 99)) },
        /** classifications whose worker held the session's loaded keys (hit) or had to load them (miss) */
        keyCache: { hits, misses, hitRate: round(hits / Math.max(1, hits + misses), 3) },
        /** this process: the clients, the API and, in embedded mode, the pool's threads */
        peakRssMB: round(peakRss / 2 ** 20),
      })
      await Promise.all(ids.map((id) => fetch(`${backend.base}${paths.sessions}/${id}`, { method: 'DELETE' })))
    }
    if (SERIAL > 0) {
      const id = await openSession(backend.base, owners[0])
      // one warm-up image (the worker loads the keys), then one at a time
      await classify(backend.base, id, work[0][0].body)
      const serialMs: number[] = []
      const evaluationMs: number[] = []
      const outsideMs: number[] = []
      let serialWrong = 0
      for (const job of work[0].slice(0, SERIAL)) {
        const r = await classify(backend.base, id, job.body)
        serialMs.push(r.ms)
        evaluationMs.push(r.serverMs)
        outsideMs.push(r.ms - r.serverMs)
        if (r.status !== 200 || argmax(owners[0].decrypt(r.bytes)) !== job.expected) serialWrong++
      }
      runs.push({
        mode: MODE,
        cores,
        serial: SERIAL,
        wrong: serialWrong,
        medianMs: round(median(serialMs)),
        minMs: round(Math.min(...serialMs)),
        /** the worker's evaluation time (x-blindfold-server-ms), median */
        evaluationMedianMs: round(median(evaluationMs)),
        /**
         * round trip minus evaluation, per image, median: HTTP, body checks, and in distributed mode
         * Redis and the queue. Distributed minus embedded = the queue's cost, without the evaluation's
         * own variance (hundreds of ms between runs on this shared machine) in the difference.
         */
        outsideEvaluationMedianMs: round(median(outsideMs)),
      })
      await fetch(`${backend.base}${paths.sessions}/${id}`, { method: 'DELETE' })
    }
  } catch (e) {
    if (backend.logs) console.error(backend.logs())
    throw e
  } finally {
    await backend.stop()
  }
}
for (const o of owners) o.dispose()

const report = { model: name, node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, date: new Date().toISOString(), modelsDir: process.env.MODELS_DIR ?? MODELS_DIR, runs }
console.table(
  runs.map((r) =>
    'serial' in r
      ? { mode: r.mode, cores: r.cores, phase: `serial ${r.serial}`, 'p50 ms': r.medianMs, 'evaluation p50 ms': r.evaluationMedianMs, 'outside evaluation p50 ms': r.outsideEvaluationMedianMs, wrong: r.wrong }
      : {
          mode: r.mode,
          cores: r.cores,
          phase: `${r.sessions} sessions`,
          images: r.images,
          'img/s': r.imagesPerSecond,
          'p50 ms': r.latencyMs.p50,
          'p95 ms': r.latencyMs.p95,
          'p99 ms': r.latencyMs.p99,
          'key hit rate': r.keyCache.hitRate,
          failed: r.failed,
          wrong: r.wrong,
        },
  ),
)
console.log(JSON.stringify(report, null, 2))
if (values.out) writeFileSync(values.out, JSON.stringify(report, null, 2) + '\n')
// every backend is stopped above; exit without waiting on keep-alive sockets and client handles left in this process
process.exit(0)
