/**
 * A pool of worker threads, each with its own SEAL instance (SEAL in WASM is
 * single-threaded). Jobs wait in a bounded FIFO; an idle worker that already
 * holds the session's loaded keys is preferred, so keys cross the thread
 * boundary once per worker, not per image. A worker that dies fails only the
 * job it held and is replaced; a job past its deadline terminates its worker.
 * A worker may also retire after answering (WASM heap past its bound, or a
 * SEAL fault other than a C++ exception): it takes no further job and is
 * replaced once it has exited.
 *
 * A classification submitted with a request id can be watched (progress():
 * its queue position, then the stages its worker reports) and stopped
 * (cancel(): a queued job leaves the queue, a running one sees its shared
 * cancel flag at the worker's next check, cancel-flag.ts); either way its
 * promise rejects with 409 cancelled and no worker is replaced.
 *
 * Hand-written, not piscina (issue 10 asks for a library pool unless a measurement shows what it
 * cannot do): scripts/measure-piscina.ts, piscina 5.3.2, 2026-12-03, 2 threads, 6 sessions x 6
 * simulated images: piscina's balancer is asked about the head task only and its queue is not
 * told which worker asks, so an idle worker cannot take a later job whose keys it holds: 28-33 key
 * loads (29-34 with the best affinity balancer it allows, two runs) against 8 with this pool's
 * rule (6 before its fairness bound, dispatch-rule.ts), 2.4-2.8 s against 1.3 s. And a running piscina task is cancelled only by terminating its thread
 * (SEAL instance and cached keys lost); here a cancel flag stops the job and keeps the worker.
 * A port of this pool onto piscina (2026-12-02, not kept) measured the same on real SEAL jobs:
 * 24 key loads where this pool made 4, in 705 lines against these 564.
 */
import { performance } from 'node:perf_hooks'
import { MessageChannel, Worker } from 'node:worker_threads'
import type { ModelFiles } from '../model-files'
import { HttpError } from '../http-error'
import { BlindfoldError, type ErrorCode } from '../../src/he/errors'
import { newCancelFlag, raise, type CancelFlag } from './cancel-flag'
import { takeFor } from './dispatch-rule'
import type { FromWorker, Retirement, ToWorker, WorkerInit } from './messages'

export interface PoolOptions {
  models: Map<string, ModelFiles>
  size: number
  queueMax: number
  timeoutMs: number
  keyCache: number
  /** a worker whose WASM heap passes this many bytes after a job is replaced (0 or unset: no bound) */
  heapLimitBytes?: number
  /** std of Gaussian noise added to the encrypted logits (0 or unset: exact logits) */
  logitNoiseStd?: number
  log?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void }
  /** metrics hooks (server/metrics.ts); called synchronously, must not throw */
  observer?: PoolObserver
  /**
   * Share an image with every idle worker (one image on several cores, split-job.ts) when more
   * than one is idle at dispatch; under load each image keeps one worker (throughput).
   */
  shareImages?: boolean
}

export type JobOp = 'validate' | 'classify'
/** Why a worker was replaced: it died (crash), was terminated past a job's deadline, or retired after answering. */
export type RestartReason = 'crash' | 'timeout' | Retirement

/** Where a live classification stands (WorkerPool.progress). */
export type PoolJobState =
  | { state: 'queued'; /** jobs ahead of it in the queue */ queuePosition: number }
  | { state: 'running'; /** stages finished */ done: number; /** the stage running now, once the worker has reported one */ stage?: string }

export interface ClassifyOptions {
  /** each stage the worker finished (a shared image: as its lead part reports it) */
  onProgress?(p: { done: number; total: number; stage?: string }): void
}

/** What a cancelled classification answers: a client's choice, not a fault. */
export function cancelledError(): HttpError {
  return new HttpError(409, 'cancelled', 'the classification was cancelled')
}

export interface PoolObserver {
  /** A job handed to a worker from the queue; keysSent: the pool did not believe the worker held the session's keys. */
  dispatched?(e: { op: JobOp; model: string; queueWaitMs: number; keysSent: boolean }): void
  /** The worker answered need_keys (it no longer held the keys the pool believed it held): the job goes again with its keys. */
  keysMissing?(e: { op: JobOp; model: string }): void
  /** A worker answered a job successfully, in workerMs of its own time. */
  evaluated?(e: { op: JobOp; model: string; workerMs: number }): void
  /** A worker exited and a new one was started in its place. */
  workerReplaced?(reason: RestartReason): void
}

interface Job {
  id: number
  op: JobOp
  session: string
  model: string
  /** the HTTP request's id, logged with the job id (never the session id) */
  requestId?: string
  /** performance.now() when the job entered the queue */
  enqueuedAt: number
  /** later jobs a worker took ahead of this one (affinity), see dispatch-rule.ts */
  passedOver: number
  keys: Uint8Array
  request?: Uint8Array
  resolve(r: { response?: Uint8Array; ms: number; parts: number }): void
  reject(e: Error): void
  timer: NodeJS.Timeout
  /** set when the image is shared by several workers: parts still to answer, and what they said */
  split?: { parts: number; pending: number; settled: boolean; response?: Uint8Array; ms?: number; error?: { rank: number; e: Error } }
  /** classify: the flag its worker(s) read between stages; raised by cancel() */
  cancelFlag?: CancelFlag
  /** cancel() was called: the job ends in 409 cancelled, whatever its worker answers */
  cancelled?: boolean
  /** classify: what its worker last reported (stages done, the stage running now) */
  progress?: { done: number; stage?: string }
  onProgress?: ClassifyOptions['onProgress']
  /** test hook (slowStages): the worker waits this long after each stage */
  stageDelayMs?: number
}

interface Slot {
  worker: Worker
  ready: boolean
  job?: Job
  /** sessions this worker reported holding after its last job */
  cached: Set<string>
  /** set when we terminate the worker ourselves, so its exit is not reported as a crash */
  terminatedFor?: 'timeout' | 'close'
  /** set when the worker announced it exits after its answer */
  retiring?: Retirement
  /** its part of the shared image it runs (job.split) */
  splitPart?: number
}

const WORKER_URL = new URL('./worker-entry.mjs', import.meta.url)
/** workers that die before loading their models, in a row, before the pool gives up */
const MAX_STARTUP_FAILURES = 3

export class WorkerPool {
  private readonly slots = new Set<Slot>()
  private readonly queue: Job[] = []
  /** classifications submitted with a request id, queued or running, by that id (progress, cancel) */
  private readonly live = new Map<string, Job>()
  /** per model: bytes of a seeded, uncompressed key container, as the first worker measured them */
  private keyBytes = new Map<string, number>()
  private stageDelayMs = 0
  private nextId = 1
  private startupFailures = 0
  private crashNext = false
  private trapNext = false
  private closing = false
  private initialReady = 0
  private initError: string | undefined
  private readonly init: WorkerInit
  private readyResolve!: () => void
  private readyReject!: (e: Error) => void
  /** resolves once every initial worker has loaded SEAL and its models */
  readonly ready: Promise<void>
  /** counts for the fault tests and the load bench */
  readonly stats = { crashes: 0, timeouts: 0, replaced: 0, completed: 0, cancelled: 0, keyTransfers: 0, splitImages: 0, retired: { heap_limit: 0, seal_fault: 0 } }

  constructor(private readonly options: PoolOptions) {
    this.init = {
      models: [...options.models.values()].map((m) => ({ manifest: m.manifest, weightBytes: m.weightBytes })),
      keyCache: options.keyCache,
      heapLimitBytes: options.heapLimitBytes ?? 0,
      logitNoiseStd: options.logitNoiseStd ?? 0,
    }
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve
      this.readyReject = reject
    })
    this.ready.catch(() => {}) // observed through isReady()/initError too
    for (let i = 0; i < options.size; i++) this.spawn()
  }

  isReady(): boolean {
    return !this.closing && this.initialReady >= this.options.size && [...this.slots].some((s) => s.ready)
  }

  get failure(): string | undefined {
    return this.initError
  }

  get queued(): number {
    return this.queue.length
  }

  /** Live workers (/readyz counts them; tests wait for replacements). */
  workers(): Worker[] {
    return [...this.slots].map((s) => s.worker)
  }

  /** Workers running a job right now (the fault test kills one). */
  busyWorkers(): Worker[] {
    return [...this.slots].filter((s) => s.job).map((s) => s.worker)
  }

  /** Test hook: the worker that takes the next job exits in the middle of it, as on a WASM abort. */
  crashNextJob(): void {
    this.crashNext = true
  }

  /** Test hook: the next job fails inside the worker as a trap in SEAL would (WebAssembly.RuntimeError). */
  trapNextJob(): void {
    this.trapNext = true
  }

  /**
   * Test hook: every classification submitted from now on waits `ms` after each stage in its
   * worker (a cancel wakes it at once), so that tests can watch its progress and cancel it
   * mid-image without a slow model. 0 turns it off.
   */
  slowStages(ms: number): void {
    this.stageDelayMs = ms
  }

  /** Bytes of a seeded, uncompressed evaluation-key container for `model` (undefined until a worker has loaded). */
  seededKeyBytes(model: string): number | undefined {
    return this.keyBytes.get(model)
  }

  /** A live classification submitted with this request id: queued (and where) or running (and how far); undefined once it has ended. */
  progress(requestId: string): PoolJobState | undefined {
    const job = this.live.get(requestId)
    if (!job) return undefined
    const at = this.queue.indexOf(job)
    if (at >= 0) return { state: 'queued', queuePosition: at }
    return { state: 'running', done: job.progress?.done ?? 0, stage: job.progress?.stage }
  }

  /**
   * Stops the live classification submitted with this request id: a queued one leaves the
   * queue at once, a running one stops at its worker's next check (within one giant step of
   * a stage). Its promise rejects with 409 cancelled. False: no such job (it has ended).
   */
  cancel(requestId: string): boolean {
    const job = this.live.get(requestId)
    if (!job) return false
    if (job.cancelled) return true
    job.cancelled = true
    this.stats.cancelled++
    const at = this.queue.indexOf(job)
    this.options.log?.info({ queued: at >= 0, ...jobIds(job) }, 'pool job cancelled')
    if (at >= 0) {
      this.queue.splice(at, 1)
      this.fail(job, cancelledError())
    } else if (job.cancelFlag) raise(job.cancelFlag)
    return true
  }

  /** requestId: the HTTP request's id, logged with the job's id when the job fails */
  validateKeys(session: string, model: string, keys: Uint8Array, requestId?: string): Promise<void> {
    return this.submit('validate', session, model, keys, undefined, requestId).then(() => undefined)
  }

  classify(
    session: string,
    model: string,
    keys: Uint8Array,
    request: Uint8Array,
    requestId?: string,
    options: ClassifyOptions = {},
  ): Promise<{ response: Uint8Array; ms: number; parts: number }> {
    return this.submit('classify', session, model, keys, request, requestId, options).then((r) => ({ response: r.response!, ms: r.ms, parts: r.parts }))
  }

  /** Frees a session's loaded keys in every worker. */
  dropSession(session: string): void {
    for (const slot of this.slots) {
      slot.cached.delete(session)
      slot.worker.postMessage({ type: 'drop', session } satisfies ToWorker)
    }
  }

  async close(): Promise<void> {
    this.closing = true
    for (const job of this.queue.splice(0)) this.fail(job, new HttpError(503, 'overloaded', 'server is shutting down'))
    const exits = [...this.slots].map((slot) => {
      slot.terminatedFor = 'close'
      return slot.worker.terminate()
    })
    await Promise.all(exits)
  }

  private submit(op: JobOp, session: string, model: string, keys: Uint8Array, request?: Uint8Array, requestId?: string, options: ClassifyOptions = {}) {
    return new Promise<{ response?: Uint8Array; ms: number; parts: number }>((resolve, reject) => {
      if (this.closing) return reject(new HttpError(503, 'overloaded', 'server is shutting down'))
      if (this.initError && ![...this.slots].some((s) => s.ready)) {
        return reject(new HttpError(503, 'not_ready', `workers failed to start: ${this.initError}`))
      }
      const idle = [...this.slots].some((s) => s.ready && !s.job)
      if (!idle && this.queue.length >= this.options.queueMax) {
        return reject(new HttpError(503, 'overloaded', 'all workers are busy and the queue is full', { 'retry-after': '2' }))
      }
      // however the job ends (answer, failure, timeout, cancel, crash), it is no longer live
      const forget = () => {
        if (requestId !== undefined && this.live.get(requestId) === job) this.live.delete(requestId)
      }
      const job: Job = {
        id: this.nextId++,
        op,
        session,
        model,
        keys,
        request,
        requestId,
        enqueuedAt: performance.now(),
        passedOver: 0,
        resolve: (r) => {
          forget()
          resolve(r)
        },
        reject: (e) => {
          forget()
          reject(e)
        },
        timer: setTimeout(() => this.expire(job), this.options.timeoutMs),
        ...(op === 'classify' ? { cancelFlag: newCancelFlag(), onProgress: options.onProgress, stageDelayMs: this.stageDelayMs || undefined } : {}),
      }
      // request ids are Fastify's (unique); a caller reusing one only loses progress and cancel for the later job
      if (op === 'classify' && requestId !== undefined && !this.live.has(requestId)) this.live.set(requestId, job)
      this.queue.push(job)
      this.dispatch()
    })
  }

  /** Gives each idle worker a queued job, by the rule of dispatch-rule.ts (key affinity, bounded). */
  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return
      if (!slot.ready || slot.job) continue
      const at = takeFor(
        this.queue,
        (session) => slot.cached.has(session),
        (session) => [...this.slots].some((o) => o !== slot && o.ready && !o.job && o.cached.has(session)),
      )
      if (at < 0) continue
      const [job] = this.queue.splice(at, 1)
      if (job.op === 'classify') job.progress = { done: 0 }
      const keysSent = !slot.cached.has(job.session)
      this.options.observer?.dispatched?.({ op: job.op, model: job.model, queueWaitMs: performance.now() - job.enqueuedAt, keysSent })
      const helpers = this.helpersFor(slot, job)
      if (helpers.length > 0) this.runSplit([slot, ...helpers], job)
      else this.run(slot, job, keysSent)
    }
  }

  /** Idle workers that may share this job's image: only when sharing is on, and only with the queue empty. */
  private helpersFor(slot: Slot, job: Job): Slot[] {
    if (job.op !== 'classify' || !this.options.shareImages || this.queue.length > 0) return []
    return [...this.slots].filter((o) => o !== slot && o.ready && !o.job)
  }

  /** One image on several workers: part 0 leads, the others reach it through their own channel. */
  private runSplit(slots: Slot[], job: Job): void {
    const parts = slots.length
    job.split = { parts, pending: parts, settled: false }
    const channels = slots.slice(1).map(() => new MessageChannel())
    slots.forEach((slot, part) => {
      slot.job = job
      slot.splitPart = part
      const withKeys = !slot.cached.has(job.session)
      if (withKeys) this.stats.keyTransfers++
      const ports = part === 0 ? channels.map((c) => c.port1) : [channels[part - 1].port2]
      const request = new Uint8Array(job.request!)
      const msg = jobMessage(job, withKeys, request, {
        split: { part, parts, ports },
        // test hook: the last part dies mid-image, so the lead is left waiting for its share
        ...(this.crashNext && part === parts - 1 ? { crash: true as const } : {}),
      })
      slot.worker.postMessage(msg, [request.buffer as ArrayBuffer, ...ports])
    })
    this.crashNext = false
    this.stats.splitImages++
  }

  /** A part of a shared image answered (or its worker died): the job settles when every part has. */
  private splitAnswered(job: Job, part: number, m: FromWorker | { type: 'exit'; e: Error }): void {
    const split = job.split!
    split.pending--
    if (m.type === 'done') {
      if (m.response) {
        split.response = m.response
        split.ms = m.ms
      }
    } else if (m.type === 'failed' || m.type === 'exit') {
      const e =
        m.type === 'exit' ? m.e : m.clientFault ? new BlindfoldError(m.code as ErrorCode, m.message) : new HttpError(500, m.code, 'the model evaluation failed on the server')
      if (m.type === 'failed' && !m.clientFault && !job.cancelled) this.options.log?.error({ code: m.code, err: m.message, part, ...jobIds(job) }, 'pool job part failed')
      // a dead worker explains the others' failures (theirs only say that a peer stopped, code internal)
      const rank = m.type === 'exit' ? 2 : m.code === 'internal' ? 0 : 1
      if (!split.error || rank > split.error.rank) split.error = { rank, e }
    }
    if (split.pending > 0 || split.settled) return
    split.settled = true
    clearTimeout(job.timer)
    // its parts answered cancelled, or finished before they saw the flag
    if (job.cancelled) return job.reject(cancelledError())
    if (split.error) return job.reject(split.error.e)
    if (!split.response) return job.reject(new HttpError(500, 'internal', 'no part of the shared image answered'))
    this.stats.completed++
    this.options.observer?.evaluated?.({ op: job.op, model: job.model, workerMs: split.ms! })
    job.resolve({ response: split.response, ms: split.ms!, parts: split.parts })
  }

  private run(slot: Slot, job: Job, withKeys: boolean): void {
    slot.job = job
    if (withKeys) this.stats.keyTransfers++
    // the request buffer is ours alone: copy it out of Fastify's buffer and transfer it
    const request = job.request ? new Uint8Array(job.request) : undefined
    const msg = jobMessage(job, withKeys, request, {
      ...(this.crashNext ? { crash: true as const } : {}),
      ...(this.trapNext ? { trap: true as const } : {}),
    })
    this.crashNext = false
    this.trapNext = false
    slot.worker.postMessage(msg, request ? [request.buffer as ArrayBuffer] : [])
  }

  private spawn(): void {
    // the entry registers tsx in the thread so the worker imports the TypeScript sources as they are
    const worker = new Worker(WORKER_URL, { workerData: this.init, execArgv: [] })
    const slot: Slot = { worker, ready: false, cached: new Set() }
    this.slots.add(slot)
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m))
    worker.on('error', (e) => this.options.log?.error({ err: e.message, threadId: worker.threadId, ...jobIds(slot.job) }, 'pool worker error'))
    worker.on('exit', (code) => this.onExit(slot, code))
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'progress') {
      // not an answer: the job runs on (a shared image: only its lead reports)
      const job = slot.job
      if (job?.id !== m.id) return
      job.progress = { done: m.done, stage: m.stage }
      job.onProgress?.({ done: m.done, total: m.total, stage: m.stage })
      return
    }
    if (m.type === 'ready') {
      if (this.keyBytes.size === 0) this.keyBytes = new Map(Object.entries(m.keyBytes))
      slot.ready = true
      this.startupFailures = 0
      if (this.initialReady < this.options.size) {
        this.initialReady++
        if (this.initialReady === this.options.size) this.readyResolve()
      }
      this.dispatch()
      return
    }
    if (m.type === 'init_error') {
      this.initError = m.message
      this.options.log?.error({ err: m.message }, 'pool worker failed to load its models')
      this.readyReject(new Error(m.message))
      return
    }
    const job = slot.job
    if (!job || job.id !== m.id) return // a late answer for a job that already timed out
    if (job.split) {
      slot.job = undefined
      // a part never asks for keys (each gets them unless it holds them): if one did, the image fails
      const answer: Extract<FromWorker, { type: 'done' | 'failed' }> =
        m.type === 'need_keys' ? { type: 'failed', id: m.id, code: 'internal', message: 'a part lacked the keys', clientFault: false, cached: [...slot.cached] } : m
      slot.cached = new Set(answer.cached)
      if (answer.retire) this.retire(slot, answer.retire, job)
      this.splitAnswered(job, slot.splitPart ?? 0, answer)
      this.dispatch()
      return
    }
    if (m.type === 'need_keys') {
      slot.cached.delete(job.session)
      slot.job = undefined
      this.options.observer?.keysMissing?.({ op: job.op, model: job.model })
      if (!job.cancelled) return this.run(slot, job, true)
      this.fail(job, cancelledError())
      this.dispatch()
      return
    }
    slot.job = undefined
    slot.cached = new Set(m.cached)
    if (m.retire) this.retire(slot, m.retire, job)
    clearTimeout(job.timer)
    if (m.type === 'done') {
      this.stats.completed++
      this.options.observer?.evaluated?.({ op: job.op, model: job.model, workerMs: m.ms })
      // finished before the worker saw the flag: a cancelled job still gives no answer
      if (job.cancelled) job.reject(cancelledError())
      else job.resolve({ response: m.response, ms: m.ms, parts: 1 })
    } else if (m.clientFault) {
      job.reject(job.cancelled || m.code === 'cancelled' ? cancelledError() : new BlindfoldError(m.code as ErrorCode, m.message))
    } else {
      this.options.log?.error({ code: m.code, err: m.message, ...jobIds(job) }, 'pool job failed')
      job.reject(job.cancelled ? cancelledError() : new HttpError(500, m.code, 'the model evaluation failed on the server'))
    }
    this.dispatch()
  }

  /** No further job for this thread: it exits after this answer and is replaced. */
  private retire(slot: Slot, reason: Retirement, job: Job): void {
    slot.ready = false
    slot.retiring = reason
    this.stats.retired[reason]++
    this.options.log?.warn({ reason, threadId: slot.worker.threadId, ...jobIds(job) }, 'pool worker retiring')
  }

  private onExit(slot: Slot, code: number): void {
    this.slots.delete(slot)
    const job = slot.job
    slot.job = undefined
    if (job?.split) {
      if (slot.terminatedFor !== 'timeout') {
        this.stats.crashes++
        this.options.log?.error({ exitCode: code, threadId: slot.worker.threadId, ...jobIds(job) }, 'pool worker died during a shared image')
        this.splitAnswered(job, slot.splitPart ?? 0, { type: 'exit', e: new HttpError(500, 'worker_crashed', 'a worker evaluating this request crashed; retry') })
      }
    } else if (job) {
      if (slot.terminatedFor === 'timeout') {
        // already answered 504 by expire()
      } else {
        this.stats.crashes++
        this.options.log?.error({ exitCode: code, threadId: slot.worker.threadId, ...jobIds(job) }, 'pool worker died during a job')
        this.fail(job, new HttpError(500, 'worker_crashed', 'the worker evaluating this request crashed; retry'))
      }
    }
    if (!slot.ready && !slot.retiring && !this.initError && ++this.startupFailures >= MAX_STARTUP_FAILURES) {
      this.initError = `${MAX_STARTUP_FAILURES} workers exited before loading the models (last exit code ${code})`
      this.readyReject(new Error(this.initError))
    }
    if (this.closing || (this.initError && !slot.ready && !slot.retiring)) return
    this.stats.replaced++
    this.options.observer?.workerReplaced?.(slot.terminatedFor === 'timeout' ? 'timeout' : (slot.retiring ?? 'crash'))
    this.spawn()
    this.dispatch()
  }

  private expire(job: Job): void {
    const queuedAt = this.queue.indexOf(job)
    if (queuedAt >= 0) this.queue.splice(queuedAt, 1)
    for (const slot of [...this.slots].filter((s) => s.job === job)) {
      // synchronous WASM cannot be interrupted: the thread must go (every part of a shared image)
      slot.terminatedFor = 'timeout'
      void slot.worker.terminate()
    }
    if (job.split) job.split.settled = true
    this.stats.timeouts++
    this.options.log?.warn({ timeoutMs: this.options.timeoutMs, queued: queuedAt >= 0, ...jobIds(job) }, 'pool job timed out')
    job.reject(new HttpError(504, 'timeout', `no answer within ${this.options.timeoutMs} ms`))
  }

  private fail(job: Job, e: Error): void {
    clearTimeout(job.timer)
    job.reject(e)
  }
}

type JobMessage = Extract<ToWorker, { type: 'job' }>

/** A job for one worker: keys only when it does not hold them (copied: the session store keeps its own). */
function jobMessage(job: Job, withKeys: boolean, request: Uint8Array | undefined, extra: Pick<JobMessage, 'split' | 'crash' | 'trap'>): JobMessage {
  return {
    type: 'job',
    id: job.id,
    op: job.op,
    session: job.session,
    model: job.model,
    keys: withKeys ? job.keys : undefined,
    request,
    // shared with the worker, not copied (a SharedArrayBuffer is never in a transfer list)
    cancel: job.cancelFlag?.buffer as SharedArrayBuffer | undefined,
    stageDelayMs: job.stageDelayMs,
    ...extra,
  }
}

/** What pool logs say about a job: its id and its HTTP request's id (Fastify's reqId), never its session. */
function jobIds(job: Job | undefined): { jobId?: number; reqId?: string } {
  return job ? { jobId: job.id, reqId: job.requestId } : {}
}
