/**
 * An evaluator process (`npm run evaluator`, distributed mode): runs the API replicas'
 * validation and classification jobs from the BullMQ queue on the ordinary in-process
 * WorkerPool (one SEAL instance per worker thread, each with its LRU of loaded keys). Start
 * any number, on any machine that reaches REDIS_URL; they share the queue.
 *
 * Environment: REDIS_URL (required), MODELS_DIR, POOL_SIZE (= jobs run at once), the pool's
 * knobs of server/config.ts, EVALUATOR_LOCK_MS (BullMQ lock: a job whose evaluator died
 * is run again by another within about 1.5 times this; job-timing.ts), and METRICS_PORT /
 * METRICS_HOST (its own GET /metrics: key-cache hits, evaluation times, worker restarts;
 * metrics-server.ts; unset port: none).
 *
 * Logs are JSON lines; a job's lines carry `reqId`, the id of the API request that enqueued it
 * (the job id is the API's Fastify request id), so one grep follows a request across processes.
 *
 * One evaluator slot is kept free for the other clients (evaluator-reserve.ts): a classification
 * of a client who would take the last free slot while another client was served recently goes
 * back to the queue behind the other clients' waiting jobs, or, while none waits, waits here
 * (holding no worker) until its turn or a job arrives.
 *
 * Keys come from Redis by session id and are kept in a bounded LRU of raw containers
 * (WORKER_KEY_CACHE entries), so a session's next image costs no key transfer; a session id
 * is never reused and the API checks the session before enqueuing, so a stale copy of a
 * deleted session is never used, only aged out.
 */
import { QueueEvents, WaitingError, Worker, type Job } from 'bullmq'
import { BoundedLru } from '../limits/bounded-lru'
import { configFromEnv } from '../config'
import { HttpError } from '../http/http-error'
import { Metrics } from '../metrics/metrics'
import { loadModels } from '../../src/datasets/model-files'
import { cancelledError } from '../backend/contract'
import { poolFromConfig } from '../pool/from-config'
import { JobMac } from './job-mac'
import { cancelFlag, checkContainer, jobError, openJob, sealResponse, sealResult, type EvalJobData, type EvalJobName, type EvalJobResult } from './job-wire'
import { jobTiming } from './job-timing'
import { EvaluatorReserve } from './evaluator-reserve'
import { serveMetrics } from './metrics-server'
import { checkRedis, connection, QUEUE_NAME, queueJobKeys, redisKeys } from './redis-keys'
import { openKeys } from './stored-keys'

/** how often a running job checks its cancel flag in Redis */
const CANCEL_POLL_MS = 200
/** how long a response waits in Redis for the API replica that asked (it deletes it on reading) */
const RESULT_TTL_MS = 60_000
/** how long a finished job's hash (names, hashes, MACs, the sealed session) stays in Redis */
const FINISHED_JOB_TTL_MS = 60_000
/** how often a classification held back for other clients checks its turn and its cancel flag again */
const HELD_CHECK_MS = 1000

const config = configFromEnv()
if (!config.redisUrl) throw new Error('the evaluator needs REDIS_URL')
if (!config.jobMacKey) throw new Error('the evaluator needs JOB_MAC_KEY, the secret its API replicas share (job-mac.ts)')
const mac = new JobMac(config.jobMacKey)
await checkRedis(config.redisUrl)
const timing = jobTiming(config.evaluatorLockMs)
const line = (level: string, o: object, m: string) => JSON.stringify({ level, time: Date.now(), pid: process.pid, msg: m, ...o })
const log = {
  info: (o: object, m: string) => console.log(line('info', o, m)),
  warn: (o: object, m: string) => console.warn(line('warn', o, m)),
  error: (o: object, m: string) => console.error(line('error', o, m)),
}
const metrics = new Metrics({ sessionGauges: false })

const models = await loadModels(process.env.MODELS_DIR || undefined)
if (models.size === 0) throw new Error('no models under server/models (set MODELS_DIR)')
// the API replica holds the client's wait; here the pool's deadlines bound each run on a worker
const pool = poolFromConfig({ ...config, queueMax: config.poolSize }, models, { log, observer: metrics.poolObserver })
metrics.watch({ queued: () => pool.queued })
await pool.ready
const metricsPort = process.env.METRICS_PORT ? Number(process.env.METRICS_PORT) : undefined
const metricsServer = metricsPort === undefined ? undefined : await serveMetrics(metrics, metricsPort, process.env.METRICS_HOST || '127.0.0.1')

// retries for ever: while Redis is down jobs wait, nothing is answered wrongly
const redis = connection(config.redisUrl, { maxRetriesPerRequest: null }, (e) => log.warn({ err: e.message }, 'redis'))
const keyCache = new BoundedLru<string, Uint8Array>(config.workerKeyCache)

// this evaluator's slots count while it renews them; a held-back job waits for a job added to the queue
const reserve = new EvaluatorReserve(redis, queueJobKeys, config.poolSize, timing.takeoverMs)
await reserve.register()
const registration = setInterval(() => void reserve.register().catch((e: Error) => log.warn({ err: e.message }, 'evaluator slots not registered')), timing.lockRenewMs)
const events = new QueueEvents(QUEUE_NAME, { connection: connection(config.redisUrl, { maxRetriesPerRequest: null }) })
events.on('error', () => {})
const addedWaiters = new Set<() => void>()
/** set once the evaluator stops: it takes no more jobs, and held-back ones go back to the queue */
let stopping = false
events.on('added', () => {
  for (const wake of addedWaiters) wake()
  addedWaiters.clear()
})
/** Resolves when a job is added to the queue, or after `ms`. */
function jobAdded(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      addedWaiters.delete(wake)
      resolve()
    }, ms)
    addedWaiters.add(wake)
  })
}

/**
 * A session's keys: uploaded ones awaiting validation (the job binds them by hash), or a
 * session's stored ones, checked against the job key before they are used or cached.
 */
async function keysOf(session: string, model: string, pending: boolean): Promise<Uint8Array> {
  const cached = pending ? undefined : keyCache.get(session)
  if (cached) return cached
  const bytes = await redis.getBuffer(pending ? redisKeys.pending(session) : redisKeys.keys(session))
  if (!bytes) throw new HttpError(404, 'unknown_session', 'no such session (unknown or expired): upload the evaluation keys again')
  if (pending) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const keys = openKeys(mac, session, model, bytes)
  keyCache.getOrCreate(session, () => keys)
  return keys
}

/** Whether the job's cancel flag was raised by a replica (a flag without the job key's MAC is ignored). */
async function cancelRaised(id: string): Promise<boolean> {
  const flag = await redis.get(redisKeys.cancel(id))
  if (flag === null) return false
  if (flag === cancelFlag(mac, id)) return true
  log.warn({ reqId: id }, 'cancel flag ignored: it does not verify')
  return false
}

/**
 * Waits until the classification may take this slot (evaluator-reserve.ts), checking again on
 * each job added to the queue and every HELD_CHECK_MS; answers its client. A held-back job goes
 * back to the queue behind the other clients' waiting jobs (WaitingError: this slot pulls again)
 * as soon as there are any.
 */
async function turnOf(job: Job<EvalJobData, EvalJobResult, EvalJobName>, token: string | undefined, model: string): Promise<string> {
  const id = job.id!
  for (;;) {
    // a running job counts for at most its deadline and grace, and a takeover
    const turn = await reserve.take(id, 2 * pool.deadlineMs(model) + timing.takeoverMs)
    if (turn.heldMs === 0) return turn.client
    if (turn.requeueAt > 0 || stopping) {
      if (turn.requeueAt > 0) await job.changePriority({ priority: turn.requeueAt })
      await job.moveToWait(token)
      throw new WaitingError()
    }
    await jobAdded(Math.min(turn.heldMs, HELD_CHECK_MS))
    if (await cancelRaised(id)) throw cancelledError()
  }
}

async function run(job: Job<EvalJobData, EvalJobResult, EvalJobName>, token?: string): Promise<EvalJobResult> {
  const id = job.id!
  // a job the API replicas did not make (injected, or its data changed) is refused before anything is read
  const opened = openJob(mac, id, job.name, job.data)
  const { session, model } = opened
  if (!models.has(model)) throw new HttpError(404, 'unknown_model', 'this evaluator does not serve the model')
  if (await cancelRaised(id)) throw cancelledError()
  if (job.name === 'validate') {
    const keys = await keysOf(session, model, true)
    checkContainer(opened, keys, 'the uploaded keys')
    await pool.validateKeys(session, model, keys, id)
    return sealResult(mac, id, 'validate', opened.requestHash, 0, 1)
  }
  const client = await turnOf(job, token, model)
  try {
    return await classify(job, opened)
  } finally {
    await reserve.done(client, id).catch(() => {})
  }
}

async function classify(job: Job<EvalJobData, EvalJobResult, EvalJobName>, opened: ReturnType<typeof openJob>): Promise<EvalJobResult> {
  const id = job.id!
  const { session, model } = opened
  const keys = await keysOf(session, model, false)
  const body = await redis.getBuffer(redisKeys.request(id))
  // the API deletes it when the POST ends: nobody waits for this answer any more
  if (!body) throw cancelledError()
  const request = new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
  checkContainer(opened, request, 'the request')
  let polling = false
  const poll = setInterval(() => {
    if (polling) return
    polling = true
    cancelRaised(id)
      .then((raised) => raised && pool.cancel(id))
      .catch(() => {})
      .finally(() => (polling = false))
  }, CANCEL_POLL_MS)
  try {
    const r = await pool.classify(session, model, keys, request, id, {
      onProgress: (p) => void job.updateProgress({ done: p.done, total: p.total, ...(p.stage ? { stage: p.stage } : {}) }).catch(() => {}),
    })
    await redis.set(redisKeys.result(id), sealResponse(mac, id, r.response), 'PX', RESULT_TTL_MS)
    return sealResult(mac, id, 'classify', opened.requestHash, r.ms, r.parts)
  } finally {
    clearInterval(poll)
  }
}

const worker = new Worker<EvalJobData, EvalJobResult, EvalJobName>(
  QUEUE_NAME,
  async (job, token) => {
    // ids of the job only: never the session id (a bearer token) nor any key byte
    const ids = { reqId: job.id, op: job.name, model: String(job.data?.model).slice(0, 64), started: job.attemptsStarted, stalled: job.stalledCounter }
    try {
      const r = await run(job, token)
      log.info({ ...ids, ms: r.ms }, 'job answered')
      return r
    } catch (e) {
      if (e instanceof WaitingError) throw e
      const error = jobError(e)
      log.info({ ...ids, reason: error.message.slice(0, 200) }, 'job refused or failed')
      throw error
    }
  },
  {
    connection: connection(config.redisUrl, { maxRetriesPerRequest: null }),
    concurrency: config.poolSize,
    lockDuration: timing.lockMs,
    lockRenewTime: timing.lockRenewMs,
    stalledInterval: timing.stalledIntervalMs,
    // a job whose evaluator died goes back to waiting once; a second death fails it (5xx, never a wrong answer)
    maxStalledCount: 1,
  },
)
worker.on('error', (e) => log.warn({ err: e.message }, 'queue worker'))
// a finished job's hash expires by time even when no later job completes (and its replica died before removing it)
// ('failed' also tells of an attempt that will be retried: only a job that stays failed expires)
const expire = async (job: Job | undefined) => {
  if (!job?.id) return
  const state = await job.getState()
  if (state === 'completed' || state === 'failed') await redis.pexpire(`${worker.qualifiedName}:${job.id}`, FINISHED_JOB_TTL_MS)
}
worker.on('completed', (job) => void expire(job).catch(() => {}))
worker.on('failed', (job) => void expire(job).catch(() => {}))
await worker.waitUntilReady()
log.info({ workers: config.poolSize, models: [...models.keys()], metricsPort: metricsServer?.port }, 'evaluator ready')

async function shutdown(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  log.info({ signal }, 'evaluator stopping: finishing running jobs')
  setTimeout(() => process.exit(1), config.requestTimeoutMs + 5000).unref()
  await worker.close() // waits for the running jobs
  clearInterval(registration)
  await reserve.leave().catch(() => {})
  await events.close().catch(() => {})
  await pool.close()
  metricsServer?.server.close()
  await redis.quit().catch(() => {})
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
