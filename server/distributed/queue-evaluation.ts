/**
 * The API replica's evaluation back end in distributed mode: the same Evaluation interface as
 * the in-process WorkerPool, but each validation and classification is a BullMQ job that some
 * `npm run evaluator` process runs (evaluator.ts). This process loads no SEAL.
 *
 * - The answer comes back through BullMQ's QueueEvents (completed / failed), backed by a poll of
 *   the job's state (follow(): an event lost while the stream reconnected is never waited for);
 *   the response container itself waits in Redis under redisKeys.result, read and deleted here
 *   (job-wire.ts). Every wait is bounded by the request timeout (504).
 * - Progress: the evaluator's job.updateProgress reaches this replica as a QueueEvents
 *   'progress' event; progress() answers from what was heard last, and for a waiting job asks
 *   Redis how many jobs are ahead of it in BullMQ's wait list (queuePosition). Jobs are
 *   followed by the replica whose POST is open (the job registry is per replica).
 * - Readiness: besides Redis, at least one evaluator must be connected to the queue (BullMQ's
 *   getWorkersCount, read every few seconds): without one every request would wait for its
 *   timeout, so GET /readyz answers 503 and a load balancer sends no traffic here.
 * - Metrics (server/metrics.ts): the queue wait as this replica saw it (enqueue to the job's
 *   'active' event) and the evaluator's own time per model and op, from each job's result.
 * - Cancel: a waiting job is removed from the queue (its POST answers 409 at once); a running
 *   one gets a Redis flag (redis-keys.ts cancel) that its evaluator polls and turns into the
 *   pool's own cancel, so the POST answers 409 when the worker stops.
 * - Faults: a job whose evaluator dies is moved back to waiting by BullMQ's stalled-job check
 *   (another evaluator's lock check) and run again; attempts also cover 5xx answers.
 */
import { Queue, QueueEvents, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
import type { Evaluation } from '../evaluation'
import { HttpError } from '../http-error'
import { cancelledError, type ClassifyOptions, type PoolJobState } from '../pool/pool'
import type { Metrics } from '../metrics'
import { errorOfReason, type EvalJobData, type EvalJobName, type EvalJobResult, type EvalProgress } from './job-wire'
import { connection, failFast, QUEUE_NAME, redisKeys, storeUnavailable } from './redis-keys'

export interface QueueEvaluationOptions {
  redisUrl: string
  models: string[]
  /** from enqueue to answer, as the pool's request timeout: past it the client gets 504 */
  timeoutMs: number
  /** runs of a job in all (a retry after an evaluator died or failed with 5xx) */
  attempts?: number
  log?: { warn(o: object, m: string): void }
  /** readiness also waits for this (the session store's connection) */
  alsoReady?: Promise<void>
  /** where queue waits and evaluation times are recorded */
  metrics?: Pick<Metrics, 'queueWaited' | 'evaluated'>
}

/** How long a cancel flag and validated-but-unstored keys stay in Redis. */
const FLAG_TTL_MS = 10 * 60_000
/** How often a waiting request checks its job's state in Redis (besides QueueEvents' events). */
const STATE_POLL_MS = 1000
/** How long close() waits for BullMQ's own close before cutting the connections (Redis down). */
const CLOSE_MS = 3000
/** How often the count of evaluators connected to the queue is read (readiness). */
const EVALUATOR_COUNT_MS = 2000

interface Live {
  op: EvalJobName
  model: string
  /** performance.now() at enqueue; cleared once the wait was recorded */
  addedAt?: number
  state: 'queued' | 'running'
  done: number
  stage?: string
  /** settles once the job is in the queue (cancel waits for it) */
  added: Promise<Job<EvalJobData, EvalJobResult, EvalJobName> | undefined>
  /** the job is in BullMQ's queue (its request container written first) */
  enqueued: boolean
  cancelled: boolean
  /** ends the waiting POST at once (a job removed before it ran) */
  abort(e: Error): void
  onProgress?: ClassifyOptions['onProgress']
}

export class QueueEvaluation implements Evaluation {
  readonly ready: Promise<void>
  private isUp = false
  private readonly redis: Redis
  private readonly queue: Queue<EvalJobData, EvalJobResult, EvalJobName>
  private readonly events: QueueEvents
  private readonly live = new Map<string, Live>()
  private readonly keyBytes = new Map<string, number>()
  private seededReadAt = 0
  /** evaluators connected to the queue as last read; undefined: not read yet, or Redis cannot tell (no CLIENT LIST) */
  private evaluators: number | undefined = 0
  private evaluatorsKnown = false
  private readonly countTimer: ReturnType<typeof setInterval>

  constructor(private readonly options: QueueEvaluationOptions) {
    this.redis = connection(options.redisUrl, failFast)
    // producer: fail fast while Redis is down (503), as BullMQ advises for request paths
    this.queue = new Queue(QUEUE_NAME, { connection: connection(options.redisUrl, failFast) })
    this.queue.on('error', () => {})
    // QueueEvents blocks on XREAD: its own connection, retrying for ever
    this.events = new QueueEvents(QUEUE_NAME, { connection: connection(options.redisUrl, { maxRetriesPerRequest: null }) })
    this.events.on('error', () => {})
    this.events.on('active', ({ jobId }) => {
      const job = this.live.get(jobId)
      if (job) this.started(job)
    })
    this.events.on('progress', ({ jobId, data }) => {
      const job = this.live.get(jobId)
      const p = data as EvalProgress
      if (!job || typeof p !== 'object' || p === null || typeof p.done !== 'number') return
      this.started(job)
      job.done = p.done
      job.stage = p.stage
      job.onProgress?.(p)
    })
    this.ready = Promise.all([
      this.queue.waitUntilReady(),
      this.events.waitUntilReady(),
      new Promise<void>((r) => (this.redis.status === 'ready' ? r() : this.redis.once('ready', () => r()))),
      options.alsoReady,
    ]).then(async () => {
      await Promise.all([this.readSeededBytes(), this.countEvaluators()])
      this.isUp = true
    })
    this.ready.catch(() => {})
    this.countTimer = setInterval(() => void this.countEvaluators(), EVALUATOR_COUNT_MS)
    this.countTimer.unref()
  }

  /** false while Redis is unreachable or no evaluator is connected to the queue (GET /readyz answers 503 then) */
  isReady(): boolean {
    return this.isUp && this.redis.status === 'ready' && (this.evaluators === undefined || this.evaluators > 0)
  }
  get failure(): string | undefined {
    return undefined
  }
  /** why isReady() is false, for GET /readyz */
  notReadyReason(): string {
    if (this.isUp && this.redis.status === 'ready' && this.evaluators === 0) return 'no evaluator is connected to the queue'
    return 'the session store (Redis) is unreachable'
  }
  get queued(): number {
    let n = 0
    for (const j of this.live.values()) if (j.state === 'queued') n++
    return n
  }

  /** Jobs waiting in the shared queue, every replica's (this replica's own count while Redis is down). */
  async queueDepth(): Promise<number> {
    return this.queue.getWaitingCount().catch(() => this.queued)
  }

  /** As the evaluators measured it at load (they publish it in Redis); undefined before any has. */
  seededKeyBytes(model: string): number | undefined {
    // GET /models asks on every call: Redis is asked again at most every few seconds
    if (!this.keyBytes.has(model) && Date.now() - this.seededReadAt > 5000) void this.readSeededBytes()
    return this.keyBytes.get(model)
  }

  async progress(requestId: string): Promise<PoolJobState | undefined> {
    const job = this.live.get(requestId)
    if (!job) return undefined
    if (job.state === 'queued') return { state: 'queued', queuePosition: await this.jobsAhead(requestId, job.enqueued) }
    return { state: 'running', done: job.done, stage: job.stage }
  }

  /**
   * Jobs ahead of this one in BullMQ's wait list, every replica's: BullMQ pushes new jobs on the
   * left and its workers take from the right, so the jobs ahead are those to the right. 0 when
   * the job is no longer waiting there, or Redis does not answer. A job still on its way in
   * will have every waiting job ahead of it.
   */
  private async jobsAhead(jobId: string, enqueued: boolean): Promise<number> {
    try {
      if (!enqueued) return await this.redis.llen(this.queue.keys.wait)
      const [[, length], [, at]] = (await this.redis.multi().llen(this.queue.keys.wait).lpos(this.queue.keys.wait, jobId).exec()) as [
        [Error | null, number],
        [Error | null, number | null],
      ]
      return typeof at === 'number' ? Math.max(0, length - 1 - at) : 0
    } catch {
      return 0
    }
  }

  cancel(requestId: string): boolean {
    const job = this.live.get(requestId)
    if (!job) return false
    if (job.cancelled) return true
    job.cancelled = true
    void this.stop(requestId, job)
    return true
  }

  async validateKeys(session: string, model: string, keys: Uint8Array, requestId?: string): Promise<void> {
    // the evaluator reads the keys from here; the session store writes them again once valid
    const pending = redisKeys.pending(session)
    const bytes = Buffer.from(keys.buffer, keys.byteOffset, keys.byteLength)
    try {
      await this.run('validate', { session, model }, requestId ?? randomUUID(), undefined, async () => {
        await this.redis.set(pending, bytes, 'PX', FLAG_TTL_MS)
      })
    } finally {
      await this.redis.del(pending).catch(() => {})
    }
  }

  async classify(
    session: string,
    model: string,
    _keys: Uint8Array,
    request: Uint8Array,
    requestId?: string,
    options: ClassifyOptions = {},
  ): Promise<{ response: Uint8Array; ms: number; parts: number }> {
    const jobId = requestId ?? randomUUID()
    const requestKey = redisKeys.request(jobId)
    const bytes = Buffer.from(request.buffer, request.byteOffset, request.byteLength)
    let r: EvalJobResult
    try {
      r = await this.run('classify', { session, model }, jobId, options.onProgress, async () => {
        await this.redis.set(requestKey, bytes, 'PX', this.options.timeoutMs + FLAG_TTL_MS)
      })
    } finally {
      // a retry of the job (its evaluator died) still needs it until the POST ends
      void this.redis.del(requestKey).catch(() => {})
    }
    const key = redisKeys.result(jobId)
    const response = await this.redis.getBuffer(key).catch(() => {
      throw storeUnavailable()
    })
    void this.redis.del(key).catch(() => {})
    if (!response) throw new HttpError(500, 'internal', 'the evaluation answered, but its response was lost: retry')
    return { response: new Uint8Array(response.buffer, response.byteOffset, response.byteLength), ms: r.ms, parts: r.parts }
  }

  /** Sessions live in Redis and are deleted there; evaluators' cached copies age out of their LRU. */
  dropSession(): void {}

  async close(): Promise<void> {
    clearInterval(this.countTimer)
    for (const [, job] of this.live) job.abort(new HttpError(503, 'overloaded', 'server is shutting down'))
    // BullMQ's close waits on Redis (QueueEvents' blocking read, retried for ever): bounded, then cut
    const graceful = Promise.allSettled([this.events.close(), this.queue.close()])
    let timer: ReturnType<typeof setTimeout> | undefined
    const cut = await Promise.race([graceful.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), CLOSE_MS)))])
    clearTimeout(timer)
    if (cut) await Promise.allSettled([this.events.disconnect(), this.queue.disconnect()])
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect())
    else this.redis.disconnect()
  }

  /**
   * Enqueues a job under `jobId` (after `before`, which writes what the job reads) and waits for
   * its answer, mapped to the pool's errors. The job is followed (progress, cancel) from the call on.
   */
  private run(
    name: EvalJobName,
    data: EvalJobData,
    jobId: string,
    onProgress?: ClassifyOptions['onProgress'],
    before: () => Promise<void> = async () => {},
  ): Promise<EvalJobResult> {
    return new Promise<EvalJobResult>((resolve, reject) => {
      let settled = false
      const settle = (f: () => void) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.live.delete(jobId)
        f()
      }
      const timer = setTimeout(() => {
        // nobody will read the answer: the job stops wherever it is
        const job = this.live.get(jobId)
        if (job) void this.stop(jobId, job)
        settle(() => reject(new HttpError(504, 'timeout', 'the evaluation took too long')))
      }, this.options.timeoutMs)
      const added = before()
        .then(() =>
          this.queue.add(name, data, {
            jobId,
            attempts: this.options.attempts ?? 2,
            removeOnComplete: { age: 60, count: 1000 },
            removeOnFail: { age: 60, count: 1000 },
          }),
        )
        .then((job) => {
          live.enqueued = true
          return job
        })
        .catch(() => {
          settle(() => reject(storeUnavailable()))
          return undefined
        })
      const live: Live = {
        op: name,
        model: data.model,
        addedAt: performance.now(),
        state: 'queued',
        done: 0,
        added,
        enqueued: false,
        cancelled: false,
        abort: (e) => settle(() => reject(e)),
        onProgress,
      }
      this.live.set(jobId, live)
      void added.then((job) => {
        if (!job) return
        this.follow(job, live, settle, resolve, reject)
      })
    })
  }

  /**
   * Waits for the job's end through two paths, whichever tells first: QueueEvents' completed /
   * failed events (prompt) and a poll of the job's state in Redis every STATE_POLL_MS. The poll
   * is what cannot miss: an event published while this replica's QueueEvents stream was
   * reconnecting (Redis restarted, a loaded machine slow to reconnect) is never heard, and
   * BullMQ's job.waitUntilFinished would then wait for its whole ttl. A job Redis no longer
   * holds (restarted empty) answers 503 store_unavailable at once. Poll errors (Redis down) are
   * ignored: run()'s request timeout bounds the whole wait.
   */
  private follow(
    job: Job<EvalJobData, EvalJobResult, EvalJobName>,
    live: Live,
    settle: (f: () => void) => void,
    resolve: (r: EvalJobResult) => void,
    reject: (e: Error) => void,
  ): void {
    const jobId = job.id!
    // BullMQ emits `completed:ID` / `failed:ID` too (untyped in its listener map)
    const events = this.events as unknown as NodeJS.EventEmitter
    let over = false
    let poll: ReturnType<typeof setInterval> | undefined
    const completedEvent = `completed:${jobId}`
    const failedEvent = `failed:${jobId}`
    const end = (f: () => void) => {
      if (over) return
      over = true
      clearInterval(poll)
      events.off(completedEvent, onCompleted)
      events.off(failedEvent, onFailed)
      settle(f)
    }
    const ok = (result: EvalJobResult, measured = true) =>
      end(() => {
        if (live.cancelled) return reject(cancelledError())
        this.started(live)
        if (measured) this.options.metrics?.evaluated(live.op, live.model, result.ms)
        resolve(result)
      })
    const failed = (reason: string | undefined) => end(() => reject(live.cancelled ? cancelledError() : errorOfReason(reason)))
    const onCompleted = (args: { returnvalue: unknown }) => ok(args.returnvalue as EvalJobResult)
    const onFailed = (args: { failedReason: string }) => failed(args.failedReason)
    events.on(completedEvent, onCompleted)
    events.on(failedEvent, onFailed)
    // the settle of run() (timeout, abort, close) ends this too
    const stillLive = () => this.live.get(jobId) === live
    let polling = false
    poll = setInterval(() => {
      if (!stillLive()) return end(() => {})
      if (polling || this.redis.status !== 'ready') return
      polling = true
      this.queue
        .getJob(jobId)
        .then(async (j) => {
          if (!stillLive()) return
          if (!j) {
            // removed on completion (removeOnComplete) before this poll: a classification's response still waits
            if (job.name === 'classify' && (await this.redis.exists(redisKeys.result(jobId))) === 1) return ok({ ms: 0, parts: 1 }, false)
            if (!stillLive()) return
            return end(() => reject(live.cancelled ? cancelledError() : storeUnavailable()))
          }
          const state = await j.getState()
          if (state === 'completed') ok(j.returnvalue)
          else if (state === 'failed') failed(j.failedReason)
        })
        .catch(() => {})
        .finally(() => (polling = false))
    }, STATE_POLL_MS)
  }

  /** Removes a waiting job, or flags a running one for its evaluator. */
  private async stop(jobId: string, live: Live): Promise<void> {
    const job = await live.added
    if (!job) return
    try {
      // a locked (running) job refuses removal
      await job.remove()
      live.abort(cancelledError())
      return
    } catch {
      // running: its evaluator polls the flag
    }
    await this.redis.set(redisKeys.cancel(jobId), '1', 'PX', FLAG_TTL_MS).catch((e: Error) => this.options.log?.warn({ err: e.message }, 'cancel flag not set'))
  }

  /** The job left the queue (its 'active' event, or the first sign of it): records its wait once. */
  private started(job: Live): void {
    job.state = 'running'
    if (job.addedAt === undefined) return
    this.options.metrics?.queueWaited(job.op, performance.now() - job.addedAt)
    job.addedAt = undefined
  }

  /**
   * Reads how many evaluators are connected (BullMQ lists its workers' named connections with
   * CLIENT LIST). A Redis that refuses CLIENT LIST (some managed services) leaves the count
   * unknown, and readiness then rests on Redis alone; while Redis is down the last count stays.
   */
  private async countEvaluators(): Promise<void> {
    if (this.redis.status !== 'ready') return
    try {
      this.evaluators = await this.queue.getWorkersCount()
      this.evaluatorsKnown = true
    } catch (e) {
      if (this.redis.status !== 'ready' || this.evaluatorsKnown || this.evaluators === undefined) return
      this.evaluators = undefined
      this.options.log?.warn({ err: (e as Error).message }, 'evaluators cannot be counted: readiness rests on Redis alone')
    }
  }

  private async readSeededBytes(): Promise<void> {
    this.seededReadAt = Date.now()
    const values = await this.redis.mget(...this.options.models.map((m) => redisKeys.seeded(m))).catch(() => [])
    this.options.models.forEach((m, i) => {
      const v = Number(values[i])
      if (values[i] && Number.isFinite(v)) this.keyBytes.set(m, v)
    })
  }
}
