/**
 * The API replica's evaluation back end in distributed mode: the same Evaluation interface as
 * the in-process WorkerPool, but each validation and classification is a BullMQ job that some
 * `npm run evaluator` process runs (evaluator.ts). This process loads no SEAL.
 *
 * - The answer comes back through BullMQ's QueueEvents (completed / failed), backed by a poll of
 *   the job's state (follow(): an event lost while the stream reconnected is never waited for);
 *   the response container itself waits in Redis under redisKeys.result, read and deleted here
 *   (job-wire.ts). A job's wait in the queue is bounded by QUEUE_WAIT_MS, its run by its
 *   evaluation deadline with room for a takeover (job-timing.ts); past either, 504.
 * - Turns and places (queue-admission.ts): each job's BullMQ priority is the number of jobs its
 *   client (the session's owner) has in flight, counted in Redis across replicas, so a client
 *   with nothing queued goes ahead of another's backlog; a full queue gives a newcomer the place
 *   of a job of the client holding the most, and that job answers 503 overloaded.
 * - Progress: the evaluator's job.updateProgress reaches this replica as a QueueEvents
 *   'progress' event; progress() answers from what was heard last, and for a waiting job asks
 *   Redis how many jobs are ahead of it in the shared queue (queuePosition). Jobs are
 *   followed by the replica whose POST is open (the job registry is per replica).
 * - Readiness: besides Redis, at least one evaluator must be connected to the queue (BullMQ's
 *   getWorkersCount, read every few seconds): without one every request would wait for its
 *   timeout, so GET /readyz answers 503 and a load balancer sends no traffic here.
 * - Metrics (server/metrics/metrics.ts): the queue wait as this replica saw it (enqueue to the job's
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
import type { Evaluation } from '../backend/contract'
import { HttpError } from '../http/http-error'
import { cancelledError, type ClassifyOptions, type PoolJobState } from '../backend/contract'
import type { Metrics } from '../metrics/metrics'
import { cancelFlag, checkResult, errorOfReason, openResponse, sealJob, type EvalJobData, type EvalJobName, type EvalJobResult, type EvalProgress } from './job-wire'
import { followJob, type JobEnd } from './follow-job'
import { integrityFailed, type JobMac } from './job-mac'
import { connection, failFast, QUEUE_NAME, redisKeys, storeUnavailable } from './redis-keys'
import { runningWaitMs, type JobTiming } from './job-timing'
import { queueFull, SharedQueue } from './queue-admission'
import { Deadlines } from '../pool/deadlines'

export interface QueueEvaluationOptions {
  redisUrl: string
  models: string[]
  /** the floor of a job's evaluation deadline (REQUEST_TIMEOUT_MS), as the evaluators' pools take it */
  deadlineFloorMs: number
  /** jobs waiting in the shared queue, every replica's (QUEUE_MAX): beyond it 503 overloaded + Retry-After */
  queueMax: number
  /** the longest a job waits for an evaluator (QUEUE_WAIT_MS): past it 504 and the job leaves the queue */
  queueWaitMs: number
  /** the evaluators' lock and stalled-check timing (job-timing.ts): the wait covers a takeover */
  timing: JobTiming
  /** runs of a job in all (a retry after an evaluator died or failed with 5xx) */
  attempts?: number
  log?: { warn(o: object, m: string): void }
  /** readiness also waits for this (the session store's connection) */
  alsoReady?: Promise<void>
  /** the key shared with the evaluators that binds jobs, results and cancel flags (job-mac.ts) */
  jobMac: JobMac
  /** where queue waits and evaluation times are recorded */
  metrics?: Pick<Metrics, 'queueWaited' | 'evaluated'>
}

/** How long a cancel flag and validated-but-unstored keys stay in Redis. */
const FLAG_TTL_MS = 10 * 60_000
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
  /** the job left the queue: its wait is now bounded by its evaluation deadline */
  onStart(): void
  onProgress?: ClassifyOptions['onProgress']
}

export class QueueEvaluation implements Evaluation {
  readonly ready: Promise<void>
  private isUp = false
  private readonly redis: Redis
  private readonly queue: Queue<EvalJobData, EvalJobResult, EvalJobName>
  private readonly events: QueueEvents
  /** admission, per-client turns and displacement in the shared queue */
  private readonly shared: SharedQueue
  private readonly live = new Map<string, Live>()
  /** evaluators connected to the queue as last read; undefined: not read yet, or Redis cannot tell (no CLIENT LIST) */
  private evaluators: number | undefined = 0
  private evaluatorsKnown = false
  private readonly countTimer: ReturnType<typeof setInterval>
  /** per-model deadlines by the pool's rule, from the evaluators' measured times in each result */
  private readonly deadlines: Deadlines

  constructor(private readonly options: QueueEvaluationOptions) {
    this.deadlines = new Deadlines(options.deadlineFloorMs)
    this.redis = connection(options.redisUrl, failFast)
    // producer: fail fast while Redis is down (503), as BullMQ advises for request paths
    this.queue = new Queue(QUEUE_NAME, { connection: connection(options.redisUrl, failFast) })
    this.queue.on('error', () => {})
    this.shared = new SharedQueue(this.redis, this.queue, options.jobMac, options.queueMax)
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
      await this.countEvaluators()
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
    return this.shared.depth().catch(() => this.queued)
  }

  async progress(requestId: string): Promise<PoolJobState | undefined> {
    const job = this.live.get(requestId)
    if (!job) return undefined
    if (job.state === 'queued') return { state: 'queued', queuePosition: await this.shared.jobsAhead(requestId, job.enqueued) }
    return { state: 'running', done: job.done, stage: job.stage }
  }

  cancel(requestId: string): boolean {
    const job = this.live.get(requestId)
    if (!job) return false
    if (job.cancelled) return true
    job.cancelled = true
    void this.stop(requestId, job)
    return true
  }

  async validateKeys(session: string, model: string, keys: Uint8Array, requestId?: string, options: Pick<ClassifyOptions, 'client'> = {}): Promise<void> {
    // the evaluator reads the keys from here; the session store writes them again once valid
    const pending = redisKeys.pending(session)
    const bytes = Buffer.from(keys.buffer, keys.byteOffset, keys.byteLength)
    const jobId = requestId ?? randomUUID()
    try {
      // in the uploader's turn: a new client's keys do not wait behind another's backlog
      await this.run('validate', sealJob(this.options.jobMac, jobId, 'validate', session, model, keys), jobId, options.client ?? '', undefined, async () => {
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
      r = await this.run('classify', sealJob(this.options.jobMac, jobId, 'classify', session, model, request), jobId, options.client ?? '', options.onProgress, async () => {
        await this.redis.set(requestKey, bytes, 'PX', this.longestWaitMs(model, 'classify') + FLAG_TTL_MS)
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
    return { response: openResponse(this.options.jobMac, jobId, response), ms: r.ms, parts: r.parts }
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
   * Enqueues a job of `client` under `jobId` (after `before`, which writes what the job reads) and
   * waits for its answer, mapped to the pool's errors. The job is followed (progress, cancel) from
   * the call on, and counts as its client's until it is answered.
   */
  private run(
    name: EvalJobName,
    data: EvalJobData,
    jobId: string,
    client: string,
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
        // the client's count drops before it is answered: its next job finds its turn already
        void this.shared.leave(client, jobId).finally(f)
      }
      const timeout = (message: string) => () => {
        // nobody will read the answer: the job stops wherever it is
        const job = this.live.get(jobId)
        if (job) void this.stop(jobId, job)
        settle(() => reject(new HttpError(504, 'timeout', message)))
      }
      // in the queue: bounded as the pool bounds it; from its start: by its deadline, with room for a takeover
      let timer = setTimeout(timeout(`no evaluator was free within ${this.options.queueWaitMs} ms`), this.options.queueWaitMs)
      // admission against the shared queue: a place held from the count until the job waits in it,
      // at the priority of its client's turn
      const added = this.shared
        .admit(jobId, client, this.longestWaitMs(data.model, name))
        .then(async (priority) => {
          await before()
          return priority
        })
        .then((priority) =>
          this.queue.add(name, data, {
            jobId,
            priority,
            attempts: this.attempts,
            removeOnComplete: { age: 60, count: 1000 },
            removeOnFail: { age: 60, count: 1000 },
          }),
        )
        .then((job) => {
          live.enqueued = true
          return job
        })
        .catch((e: unknown) => {
          settle(() => reject(e instanceof HttpError ? e : storeUnavailable()))
          return undefined
        })
        .finally(() => {
          this.shared.leavePlace(jobId)
          // answered while on its way in (a timeout, a close): its count is not left behind
          if (settled) void this.shared.leave(client, jobId)
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
        onStart: () => {
          if (settled) return
          clearTimeout(timer)
          timer = setTimeout(timeout('the evaluation took too long'), runningWaitMs(this.deadlineMs(data.model, name), this.attempts, this.options.timing))
        },
        onProgress,
      }
      this.live.set(jobId, live)
      void added.then((job) => {
        if (!job) return
        followJob(job, {
          events: this.events,
          queue: this.queue,
          redis: this.redis,
          stillLive: () => this.live.get(jobId) === live,
          wasDisplaced: (id) => this.shared.wasDisplaced(id),
          ended: (e) => settle(() => this.ended(e, live, jobId, data, resolve, reject)),
        })
      })
    })
  }

  /**
   * Answers a job's end: a result only once it verifies (job-wire.ts checkResult), a cancel only
   * when this replica asked for it, a job Redis no longer holds 503 store_unavailable.
   */
  private ended(e: JobEnd, live: Live, jobId: string, data: EvalJobData, resolve: (r: EvalJobResult) => void, reject: (e: Error) => void): void {
    if (live.cancelled) return reject(cancelledError())
    if (e.kind === 'gone') return reject(storeUnavailable())
    if (e.kind === 'displaced') return reject(queueFull(true))
    if (e.kind === 'failed') {
      const error = errorOfReason(e.reason)
      // a cancel nobody asked for here was planted in Redis: an error, and not the client's own
      return reject(error.code === 'cancelled' ? integrityFailed('a cancel this replica did not ask for') : error)
    }
    this.started(live)
    // a job removed before its return value was read: its response record is checked on its own
    if (e.result === undefined) return resolve({ ms: 0, parts: 1, mac: '' })
    let result: EvalJobResult
    try {
      result = checkResult(this.options.jobMac, jobId, live.op, data, e.result as Partial<EvalJobResult>)
    } catch (err) {
      return reject(err as Error)
    }
    this.options.metrics?.evaluated(live.op, live.model, result.ms)
    if (live.op === 'classify') this.deadlines.record(live.model, result.ms)
    resolve(result)
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
    await this.redis.set(redisKeys.cancel(jobId), cancelFlag(this.options.jobMac, jobId), 'PX', FLAG_TTL_MS).catch((e: Error) => this.options.log?.warn({ err: e.message }, 'cancel flag not set'))
  }

  private get attempts(): number {
    return this.options.attempts ?? 2
  }

  /** A job's evaluation deadline: a classification's by its model's measured time, a validation's the floor. */
  private deadlineMs(model: string, op: EvalJobName): number {
    return op === 'classify' ? this.deadlines.evaluationMs(model) : this.options.deadlineFloorMs
  }

  /** The longest a replica waits for a job, queue and reruns included. */
  private longestWaitMs(model: string, op: EvalJobName): number {
    return this.options.queueWaitMs + runningWaitMs(this.deadlineMs(model, op), this.attempts, this.options.timing)
  }

  /** The job left the queue (its 'active' event, or the first sign of it): records its wait once. */
  private started(job: Live): void {
    if (job.state === 'queued') job.onStart()
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
}
