/**
 * Load benchmark of the inference server on loopback:
 *   npm run bench:load -- [--sessions 8] [--images 4] [--pools 1,2] [--out bench-load.json]
 * For each pool size it starts the app (POOL_SIZE workers) on 127.0.0.1, opens
 * N sessions (one KeyOwner each), and lets every session send its images one
 * after another, all sessions at once. Requests are encrypted before the clock
 * starts and decrypted after it stops, so the client's SEAL work is not timed.
 * Reports throughput, latency percentiles and the process's peak RSS (worker
 * threads share the process, so RSS covers main thread + workers; the client
 * keys held by this process are included too).
 */
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { buildApp } from '../server/app'
import { loadModels } from '../server/model-files'
import { testModels } from '../server/test-support/models'
import { BINARY, paths, type SessionCreated } from '../src/api/wire'
import { KeyOwner } from '../src/he/key-owner'
import { argmax, forward, normalise } from '../src/model/forward'
import { publicModel } from '../src/model/manifest'
import { loadMnist } from './mnist'

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '8' },
    images: { type: 'string', default: '4' },
    pools: { type: 'string', default: '1,2' },
    out: { type: 'string' },
  },
})
const SESSIONS = Math.min(Math.max(Number(values.sessions), 1), 32)
const IMAGES = Math.min(Math.max(Number(values.images), 1), 20)
const POOLS = values.pools!.split(',').map(Number).filter((n) => n >= 1 && n <= 8)

const models = process.env.MODELS_DIR ? await loadModels(process.env.MODELS_DIR) : await testModels()
const model = [...models.values()][0]
const mnist = loadMnist('test')

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d

console.log(`model ${model.manifest.name}; ${SESSIONS} sessions x ${IMAGES} images; pools ${POOLS.join(', ')}`)
const owners = await Promise.all(Array.from({ length: SESSIONS }, () => KeyOwner.create(publicModel(model.manifest))))
const work = owners.map((owner, s) =>
  Array.from({ length: IMAGES }, (_, k) => {
    const i = (s * IMAGES + k) % mnist.count
    const x = normalise(mnist.pixels.subarray(i * 784, (i + 1) * 784), model.manifest)
    return { expected: argmax(forward(model.manifest, model.weights, x)), body: owner.encrypt(x) }
  }),
)

const results = []
for (const poolSize of POOLS) {
  const app = await buildApp({ models, poolSize, rateLimitMax: 0, queueMax: SESSIONS * 2, sessionMax: SESSIONS * 2, sessionsPerClient: SESSIONS })
  await app.blindfold.pool.ready
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  let peakRss = process.memoryUsage().rss
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50)
  try {
    const sessions = await Promise.all(
      owners.map(async (owner) => {
        const r = await fetch(`${base}${paths.sessions}?model=${model.manifest.name}`, { method: 'POST', headers: { 'content-type': BINARY }, body: owner.evaluationKeys })
        if (r.status !== 201) throw new Error(`session: ${r.status} ${await r.text()}`)
        return ((await r.json()) as SessionCreated).sessionId
      }),
    )
    const latencies: number[] = []
    const answers: Array<{ owner: KeyOwner; expected: number; bytes: Uint8Array }> = []
    let failed = 0
    const started = performance.now()
    const cpuBefore = process.cpuUsage()
    await Promise.all(
      sessions.map(async (id, s) => {
        for (const job of work[s]) {
          const t = performance.now()
          const r = await fetch(`${base}${paths.classify(id)}`, { method: 'POST', headers: { 'content-type': BINARY }, body: job.body })
          const bytes = new Uint8Array(await r.arrayBuffer())
          latencies.push(performance.now() - t)
          if (r.status === 200) answers.push({ owner: owners[s], expected: job.expected, bytes })
          else failed++
        }
      }),
    )
    const wallMs = performance.now() - started
    const cpu = process.cpuUsage(cpuBefore)
    const wrong = answers.filter((a) => argmax(a.owner.decrypt(a.bytes)) !== a.expected).length
    latencies.sort((a, b) => a - b)
    results.push({
      poolSize,
      sessions: SESSIONS,
      images: SESSIONS * IMAGES,
      failed,
      wrong,
      wallMs: round(wallMs),
      imagesPerSecond: round((SESSIONS * IMAGES * 1000) / wallMs, 2),
      latencyMs: { p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)), p99: round(percentile(latencies, 99)) },
      peakRssMB: round(peakRss / 2 ** 20),
      /** CPU time of the whole process (all threads) over wall time: cores actually obtained */
      cpuCoresUsed: round((cpu.user + cpu.system) / 1000 / wallMs, 2),
      /** evaluation keys sent to a worker (session creation included) */
      keyTransfers: app.blindfold.pool.stats.keyTransfers,
    })
  } finally {
    clearInterval(sampler)
    await app.close()
  }
}
for (const o of owners) o.dispose()

const report = { model: model.manifest.name, node: process.version, date: new Date().toISOString(), results }
console.table(
  results.map((r) => ({
    workers: r.poolSize,
    images: r.images,
    'img/s': r.imagesPerSecond,
    'p50 ms': r.latencyMs.p50,
    'p95 ms': r.latencyMs.p95,
    'p99 ms': r.latencyMs.p99,
    'peak RSS MB': r.peakRssMB,
    'key loads': r.keyTransfers,
    'cores used': r.cpuCoresUsed,
    failed: r.failed,
    wrong: r.wrong,
  })),
)
console.log(JSON.stringify(report, null, 2))
if (values.out) writeFileSync(values.out, JSON.stringify(report, null, 2) + '\n')
