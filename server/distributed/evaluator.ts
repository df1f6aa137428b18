/**
 * An evaluator process (`npm run evaluator`, distributed mode): runs the API replicas'
 * validation and classification jobs from the BullMQ queue on the ordinary in-process
 * WorkerPool (one SEAL instance per worker thread, each with its LRU of loaded keys). Start
 * any number, on any machine that reaches REDIS_URL; they share the queue.
 *
 * Environment: REDIS_URL (required), MODELS_DIR, POOL_SIZE (= jobs run at once), the pool's
 * knobs of server/config.ts, EVALUATOR_LOCK_MS (BullMQ lock: a job whose evaluator died
 * is run again by another after about this long; default 30 s), and METRICS_PORT /
 * METRICS_HOST (its own GET /metrics: key-cache hits, evaluation times, worker restarts;
 * metrics-server.ts; unset port: none).
 *
 * Logs are JSON lines; a job's lines carry `reqId`, the id of the API request that enqueued it
 * (the job id is the API's Fastify request id), so one grep follows a request across processes.
 *
 * Keys come from Redis by session id and are kept in a bounded LRU of raw containers
 * (WORKER_KEY_CACHE entries), so a session's next image costs no key transfer; a session id
 * is never reused and the API checks the session before enqueuing, so a stale copy of a
 * deleted session is never used, only aged out.
 */
import { Worker, type Job } from 'bullmq'
import { BoundedLru } from '../bounded-lru'
import { configFromEnv } from '../config'
import { HttpError } from '../http-error'
import { Metrics } from '../metrics'
import { loadModels } from '../model-files'
import { cancelledError, WorkerPool } from '../pool/pool'
import { jobError, type EvalJobData, type EvalJobName, type EvalJobResult } from './job-wire'
import { serveMetrics } from './metrics-server'
import { connection, QUEUE_NAME, redisKeys } from './redis-keys'

/** how often a running job checks its cancel flag in Redis */
const CANCEL_POLL_MS = 200
/** how long a response waits in Redis for the API replica that asked (it deletes it on reading) */
const RESULT_TTL_MS = 60_000

const config = configFromEnv()
if (!config.redisUrl) throw new Error('the evaluator needs REDIS_URL')
const lockMs = Number(process.env.EVALUATOR_LOCK_MS || 30_000)
const line = (level: string, o: object, m: string) => JSON.stringify({ level, time: Date.now(), pid: process.pid, msg: m, ...o })
const log = {
  info: (o: object, m: string) => console.log(line('info', o, m)),
  warn: (o: object, m: string) => console.warn(line('warn', o, m)),
  error: (o: object, m: string) => console.error(line('error', o, m)),
}
const metrics = new Metrics({ sessionGauges: false })

const models = await loadModels(process.env.MODELS_DIR || undefined)
if (models.size === 0) throw new Error('no models under server/models (set MODELS_DIR)')
const pool = new WorkerPool({
  models,
  size: config.poolSize,
  queueMax: config.poolSize,
  // the API replica holds the client's deadline; this bounds one run on a worker
  timeoutMs: config.requestTimeoutMs,
  keyCache: config.workerKeyCache,
  heapLimitBytes: config.workerHeapLimitMb * 1024 * 1024,
  logitNoiseStd: config.logitNoiseStd,
  // as in embedded mode (app.ts): an image is shared by the idle workers
  shareImages: config.splitImages === 'auto',
  log,
  observer: metrics.poolObserver,
})
metrics.watch({ queued: () => pool.queued })
await pool.ready
const metricsPort = process.env.METRICS_PORT ? Number(process.env.METRICS_PORT) : undefined
const metricsServer = metricsPort === undefined ? undefined : await serveMetrics(metrics, metricsPort, process.env.METRICS_HOST || '127.0.0.1')

// retries for ever: while Redis is down jobs wait, nothing is answered wrongly
const redis = connection(config.redisUrl, { maxRetriesPerRequest: null }, (e) => log.warn({ err: e.message }, 'redis'))
// the API's GET /models cost before any upload: what this evaluator measured at load
async function publishSeeded(): Promise<void> {
  for (const name of models.keys()) {
    const bytes = pool.seededKeyBytes(name)
    if (bytes !== undefined) await redis.set(redisKeys.seeded(name), String(bytes))
  }
}
await publishSeeded()
// a Redis restarted without persistence comes back empty: publish again on each reconnect
redis.on('ready', () => void publishSeeded().catch((e: Error) => log.warn({ err: e.message }, 'seeded sizes not published')))

const keyCache = new BoundedLru<string, Uint8Array>(config.workerKeyCache)

async function keysOf(session: string, pending: boolean): Promise<Uint8Array> {
  const cached = pending ? undefined : keyCache.get(session)
  if (cached) return cached
  const bytes = await redis.getBuffer(pending ? redisKeys.pending(session) : redisKeys.keys(session))
  if (!bytes) throw new HttpError(404, 'unknown_session', 'no such session (unknown or expired): upload the evaluation keys again')
  const keys = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (!pending) keyCache.getOrCreate(session, () => keys)
  return keys
}

async function run(job: Job<EvalJobData, EvalJobResult, EvalJobName>): Promise<EvalJobResult> {
  const id = job.id!
  const { session, model } = job.data
  if (!models.has(model)) throw new HttpError(404, 'unknown_model', 'this evaluator does not serve the model')
  if (await redis.exists(redisKeys.cancel(id))) throw cancelledError()
  if (job.name === 'validate') {
    await pool.validateKeys(session, model, await keysOf(session, true), id)
    return { ms: 0, parts: 1 }
  }
  const keys = await keysOf(session, false)
  const body = await redis.getBuffer(redisKeys.request(id))
  // the API deletes it when the POST ends: nobody waits for this answer any more
  if (!body) throw cancelledError()
  const request = new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
  let polling = false
  const poll = setInterval(() => {
    if (polling) return
    polling = true
    redis
      .exists(redisKeys.cancel(id))
      .then((n) => n === 1 && pool.cancel(id))
      .catch(() => {})
      .finally(() => (polling = false))
  }, CANCEL_POLL_MS)
  try {
    const r = await pool.classify(session, model, keys, request, id, {
      onProgress: (p) => void job.updateProgress({ done: p.done, total: p.total, ...(p.stage ? { stage: p.stage } : {}) }).catch(() => {}),
    })
    await redis.set(redisKeys.result(id), Buffer.from(r.response.buffer, r.response.byteOffset, r.response.byteLength), 'PX', RESULT_TTL_MS)
    return { ms: r.ms, parts: r.parts }
  } finally {
    clearInterval(poll)
  }
}

const worker = new Worker<EvalJobData, EvalJobResult, EvalJobName>(
  QUEUE_NAME,
  async (job) => {
    // ids of the job only: never the session id (a bearer token) nor any key byte
    const ids = { reqId: job.id, op: job.name, model: job.data.model, started: job.attemptsStarted, stalled: job.stalledCounter }
    try {
      const r = await run(job)
      log.info({ ...ids, ms: r.ms }, 'job answered')
      return r
    } catch (e) {
      const error = jobError(e)
      log.info({ ...ids, reason: error.message.slice(0, 200) }, 'job refused or failed')
      throw error
    }
  },
  {
    connection: connection(config.redisUrl, { maxRetriesPerRequest: null }),
    concurrency: config.poolSize,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    // a job whose evaluator died goes back to waiting once; a second death fails it (5xx, never a wrong answer)
    maxStalledCount: 1,
  },
)
worker.on('error', (e) => log.warn({ err: e.message }, 'queue worker'))
await worker.waitUntilReady()
log.info({ workers: config.poolSize, models: [...models.keys()], metricsPort: metricsServer?.port }, 'evaluator ready')

let stopping = false
async function shutdown(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  log.info({ signal }, 'evaluator stopping: finishing running jobs')
  setTimeout(() => process.exit(1), config.requestTimeoutMs + 5000).unref()
  await worker.close() // waits for the running jobs
  await pool.close()
  metricsServer?.server.close()
  await redis.quit().catch(() => {})
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
