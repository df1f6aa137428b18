/**
 * A pool of worker threads, each with its own SEAL instance (SEAL in WASM is single-threaded):
 * the queue and its dispatch. Jobs wait in a bounded queue, each for at most the queue-wait bound;
 * clients take turns, one worker is kept for other recent clients (worker-reserve.ts), and an idle
 * worker that already holds the session's loaded keys is preferred, so keys cross the thread
 * boundary once per worker, not per image (dispatch-rule.ts). An idle pool may share one image
 * among its idle workers (shared-image.ts).
 *
 * A job's evaluation deadline starts when a worker takes it (deadlines.ts): past it the job is
 * cancelled cooperatively and answered 504, and the worker serves on; only a worker still
 * silent a grace period later is terminated and replaced. A worker that dies fails only the
 * job it held and is replaced. A worker may also retire after answering (WASM heap past its
 * bound, or a SEAL fault other than a C++ exception): it takes no further job and is replaced
 * once it has exited. Why this pool is hand-written: docs/decisions/pool-not-piscina.md.
 *
 * Each worker builds the models (encodes their weights) one at a time, cheapest first, on the
 * pool's order (build-order.ts): a model is served as soon as one worker has built it, and a
 * job goes only to a worker that has built its model and is not building. A job for a model no
 * worker has built since the start answers 503 model_loading at once, with Retry-After; one for a
 * model whose workers have all died since waits in the queue (its bound) for a replacement.
 *
 * A classification submitted with a request id can be watched (progress(): queue position, then
 * stages) and stopped (cancel(): a queued job leaves the queue, a running one sees its cancel
 * flag at the worker's next check); its promise rejects with 409 cancelled, no worker replaced.
 */
import { performance } from 'node:perf_hooks'
import type { Worker } from 'node:worker_threads'
import { cancelledError, type ClassifyOptions, type PoolJobState } from '../backend/contract'
import { HttpError } from '../http/http-error'
import { newCancelFlag, raise } from './cancel-flag'
import { Deadlines } from './deadlines'
import { ClientTurns, displacedBy, fairShare, takeFor } from './dispatch-rule'
import type { JobOp } from './faults'
import { jobIds, jobMessage, type Job, type JobResult } from './job'
import type { FromWorker, WorkerInit } from './messages'
import type { PoolOptions } from './pool-options'
import { newStats, partDone, soloAnswered, type OutcomeContext } from './outcomes'
import { startSharedImage } from './shared-image'
import { buildOrder, nextBuild } from './build-order'
import { warmJob, warmTargets } from './key-warm'
import { heldBy, serves, servingCount, startSlot, type Slot } from './worker-slot'
import { WorkerReserve } from './worker-reserve'
import type { ModelManifest } from '../../src/model/manifest'

export type { JobOp } from './faults'
export type { PoolObserver, PoolOptions, RestartReason } from './pool-options'

/** workers that die before loading SEAL or while building a model, in a row, before the pool gives up */
const MAX_STARTUP_FAILURES = 3
/** what a job for a model no worker has built yet answers: seconds to wait before trying again */
const MODEL_LOADING_RETRY_S = '5'

export class WorkerPool {
  private readonly slots = new Set<Slot>()
  private readonly turns = new ClientTurns()
  private readonly reserve = new WorkerReserve(() => this.dispatch())
  private readonly queue: Job[] = []
  /** classifications submitted with a request id, queued or running, by that id (progress, cancel) */
  private readonly live = new Map<string, Job>()
  private readonly deadlines: Deadlines
  private readonly queueWaitMs: number
  private nextId = 1
  private startupFailures = 0
  private closing = false
  private initialReady = 0
  private initError: string | undefined
  private readonly init: WorkerInit
  /** the models' names, cheapest to build first: every worker builds them in this order (build-order.ts) */
  private readonly order: string[]
  /** models some worker has built since the start: their jobs wait in the queue while replacements rebuild them */
  private readonly everServed = new Set<string>()
  private readyResolve!: () => void
  private readyReject!: (e: Error) => void
  /** resolves once every initial worker has built every model (a model is served sooner: modelReady()) */
  readonly ready: Promise<void>
  /** counts for the fault tests and the load bench (outcomes.ts) */
  readonly stats = newStats()
  private readonly outcomes: OutcomeContext

  constructor(private readonly options: PoolOptions) {
    this.init = {
      models: [...options.models.values()].map((m) => ({ manifest: m.manifest, weightBytes: m.weightBytes })),
      keyCache: options.keyCache,
      heapLimitBytes: options.heapLimitBytes ?? 0,
      logitNoiseStd: options.logitNoiseStd ?? 0,
      ...(options.faults?.holdBuild ? { holdBuild: options.faults.holdBuild } : {}),
    }
    this.deadlines = new Deadlines(options.timeoutMs)
    this.outcomes = {
      stats: this.stats,
      deadlines: this.deadlines,
      log: options.log,
      observer: options.observer,
      rerunWithKeys: (slot, job) => this.run(slot, job, true),
    }
    this.queueWaitMs = options.queueWaitMs ?? options.timeoutMs
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve
      this.readyReject = reject
    })
    this.ready.catch(() => {}) // observed through isReady()/initError too
    for (let i = 0; i < options.size; i++) this.spawn()
    // while the workers load SEAL: their first build order comes once one has loaded
    this.order = buildOrder([...options.models.values()].map((m) => m.manifest as ModelManifest), options.plans)
  }

  /** Some model is served: a worker has built it (GET /readyz answers 200 from then on). */
  isReady(): boolean {
    return this.order.some((model) => this.modelReady(model))
  }

  /** A worker has built `model` and is not leaving: its jobs are taken (a worker building another model takes them once it is done). */
  modelReady(model: string): boolean {
    return !this.closing && [...this.slots].some((s) => s.models.has(model) && !s.retiring)
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

  /** The evaluation deadline a job of `model` gets now (deadlines.ts). */
  deadlineMs(model: string): number {
    return this.deadlines.evaluationMs(model)
  }

  /** A live classification submitted with this request id: queued (and where) or running (and how far); undefined once it has ended. */
  progress(requestId: string): PoolJobState | undefined {
    const job = this.live.get(requestId)
    if (!job) return undefined
    const at = this.queue.indexOf(job)
    if (at >= 0) return { state: 'queued', queuePosition: at }
    return { state: 'running', done: job.progress?.done ?? 0, stage: job.progress?.stage }
  }

  /** Stops the live classification with this request id (see above; a running one within one giant step); false: it has ended. */
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
    return this.submit('validate', session, model, keys, undefined, requestId).then(() => {
      // valid keys: idle workers that could share the session's images load them now (key-warm.ts)
      if (!this.options.shareImages || this.closing || this.queue.length > 0) return
      for (const slot of warmTargets(this.slots, session, model)) this.run(slot, warmJob(this.nextId++, session, model, keys, this.options.log), true)
    })
  }

  classify(session: string, model: string, keys: Uint8Array, request: Uint8Array, requestId?: string, options: ClassifyOptions = {}): Promise<Required<JobResult>> {
    return this.submit('classify', session, model, keys, request, requestId, options).then((r) => ({ response: r.response!, ms: r.ms, parts: r.parts }))
  }

  /** Frees a session's loaded keys in every worker. */
  dropSession(session: string): void {
    for (const slot of this.slots) {
      slot.cached.delete(session)
      slot.worker.postMessage({ type: 'drop', session })
    }
  }

  async close(): Promise<void> {
    this.closing = true
    this.reserve.close()
    for (const job of this.queue.splice(0)) this.fail(job, new HttpError(503, 'overloaded', 'server is shutting down'))
    const exits = [...this.slots].map((slot) => {
      slot.terminatedFor = 'close'
      return slot.worker.terminate()
    })
    await Promise.all(exits)
  }

  private submit(op: JobOp, session: string, model: string, keys: Uint8Array, request?: Uint8Array, requestId?: string, options: ClassifyOptions = {}) {
    return new Promise<JobResult>((resolve, reject) => {
      if (this.closing) return reject(new HttpError(503, 'overloaded', 'server is shutting down'))
      if (!this.modelReady(model)) {
        if (this.initError) return reject(new HttpError(503, 'not_ready', `workers failed to start: ${this.initError}`))
        // still starting: come back later; served before (its workers died): wait in the queue for a replacement
        if (!this.everServed.has(model)) {
          return reject(new HttpError(503, 'model_loading', `the workers are still building model ${model}`, { 'retry-after': MODEL_LOADING_RETRY_S }))
        }
      }
      const idle = [...this.slots].some((s) => serves(s, model) && !s.job) && !this.heldBack(options.client, model, 1, false)
      if (!idle && this.queue.length >= this.options.queueMax) {
        const at = displacedBy(this.queue, options.client ?? '')
        if (at < 0) return reject(new HttpError(503, 'overloaded', 'all workers are busy and the queue is full', { 'retry-after': '2' }))
        const [out] = this.queue.splice(at, 1)
        this.fail(out, new HttpError(503, 'overloaded', 'the queue is full and this client holds more of it than others', { 'retry-after': '2' }))
      }
      // however the job ends (answer, failure, deadline, cancel, crash), it is no longer live
      const forget = () => {
        if (requestId !== undefined && this.live.get(requestId) === job) this.live.delete(requestId)
      }
      const fault = this.options.faults?.forJob({ op, model })
      const job: Job = {
        id: this.nextId++,
        op,
        session,
        client: options.client,
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
        ...(op === 'classify' ? { cancelFlag: newCancelFlag(), onProgress: options.onProgress } : {}),
        ...(fault ? { fault } : {}),
      }
      job.timer = setTimeout(() => this.queueWaitPassed(job), this.queueWaitMs)
      // request ids are Fastify's (unique); a caller reusing one only loses progress and cancel for the later job
      if (op === 'classify' && requestId !== undefined && !this.live.has(requestId)) this.live.set(requestId, job)
      this.queue.push(job)
      this.dispatch()
    })
  }

  /**
   * Gives each idle worker a queued job of a model it serves, by the rules of dispatch-rule.ts
   * (clients in turn, then key affinity, bounded); then starts the builds build-order.ts allows.
   */
  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) break
      if (slot.job || slot.building !== undefined || slot.retiring) continue
      const mine = fairShare(
        this.queue.filter((j) => serves(slot, j.model)),
        (client) => heldBy(this.slots, client),
        this.turns,
      )
      if (mine.length === 0 || this.heldBack(mine[0].client, mine[0].model, 1, true)) continue
      const at = takeFor(
        mine,
        (session) => slot.cached.has(session),
        (session) => [...this.slots].some((o) => o !== slot && serves(o, mine[0].model) && !o.job && o.cached.has(session)),
      )
      if (at < 0) continue
      const [job] = this.queue.splice(this.queue.indexOf(mine[at]), 1)
      this.turns.served(job.client)
      if (job.client !== undefined) this.reserve.served(job.client)
      if (job.op === 'classify') job.progress = { done: 0 }
      const keysSent = !slot.cached.has(job.session)
      this.options.observer?.dispatched?.({ op: job.op, model: job.model, queueWaitMs: performance.now() - job.enqueuedAt, keysSent })
      // the evaluation deadline replaces the queue-wait bound: it starts now, not at submit
      clearTimeout(job.timer)
      const deadlineMs = this.deadlines.evaluationMs(job.model)
      job.timer = setTimeout(() => this.deadlinePassed(job, deadlineMs), deadlineMs)
      const helpers = this.helpersFor(slot, job)
      if (helpers.length > 0) {
        this.stats.keyTransfers += startSharedImage([slot, ...helpers], job)
        this.stats.splitImages++
      } else this.run(slot, job, keysSent)
    }
    this.startBuilds()
  }

  /** Idle workers that lack a model build it, when build-order.ts allows (a served model keeps a worker that is not building). */
  private startBuilds(): void {
    // after a failed build no worker tries further models: the ones served stay served
    if (this.closing || this.initError) return
    const workers = [...this.slots].filter((s) => !s.retiring)
    const view = new Map(workers.map((s) => [s, { loaded: s.loaded, models: s.models, building: s.building, busy: s.job !== undefined }]))
    for (const slot of workers) {
      const model = nextBuild(view.get(slot)!, [...view.values()], this.order)
      if (model === undefined) continue
      slot.building = model
      view.get(slot)!.building = model
      slot.worker.postMessage({ type: 'build', model })
    }
  }

  /** Idle workers that may share this job's image: only when sharing is on, and only with the queue empty. */
  private helpersFor(slot: Slot, job: Job): Slot[] {
    if (job.op !== 'classify' || !this.options.shareImages || this.queue.length > 0) return []
    const idle = [...this.slots].filter((o) => o !== slot && serves(o, job.model) && !o.job)
    return idle.filter((_, i) => !this.heldBack(job.client, job.model, 2 + i, false))
  }

  /** Whether `more` workers for `model` would leave none for other clients (worker-reserve.ts; key validations, which have no client, never wait); `wake`: dispatch again when that ends. */
  private heldBack(client: string | undefined, model: string, more: number, wake: boolean): boolean {
    return client !== undefined && this.reserve.holdsBack(client, heldBy(this.slots, client) + more, servingCount(this.slots, model), wake)
  }

  private run(slot: Slot, job: Job, withKeys: boolean): void {
    slot.job = job
    if (withKeys) this.stats.keyTransfers++
    // the request buffer is ours alone: copy it out of Fastify's buffer and transfer it
    const request = job.request ? new Uint8Array(job.request) : undefined
    slot.worker.postMessage(jobMessage(job, withKeys, request, job.fault ? { fault: job.fault } : {}), request ? [request.buffer as ArrayBuffer] : [])
  }

  private spawn(): void {
    const slot = startSlot(this.init, {
      message: (s, m) => this.onMessage(s, m),
      error: (s, e) => this.options.log?.error({ err: e.message, threadId: s.worker.threadId, ...jobIds(s.job) }, 'pool worker error'),
      exit: (s, code) => this.onExit(s, code),
    })
    this.slots.add(slot)
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'progress') {
      // not an answer: the job runs on (a shared image: only its lead reports)
      const job = slot.job
      if (job?.id !== m.id || job.timedOut) return
      job.progress = { done: m.done, stage: m.stage }
      job.onProgress?.({ done: m.done, total: m.total, stage: m.stage })
      return
    }
    if (m.type === 'loaded') {
      slot.loaded = true
      this.dispatch()
      return
    }
    if (m.type === 'built') {
      slot.models.add(m.model)
      this.everServed.add(m.model)
      slot.building = undefined
      const { model, buildMs, heapGrowthBytes, heapBytes } = m
      this.options.log?.info({ threadId: slot.worker.threadId, model, buildMs: Math.round(buildMs), heapGrowthBytes, heapBytes }, 'pool worker built a model')
      if (slot.models.size === this.order.length) {
        this.startupFailures = 0
        if (this.initialReady < this.options.size && ++this.initialReady === this.options.size) this.readyResolve()
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
    if (!job || job.id !== m.id) return // an answer for a job this slot no longer holds
    slot.job = undefined
    if (job.split) partDone(this.outcomes, slot, job, m)
    else soloAnswered(this.outcomes, slot, job, m)
    this.dispatch()
  }

  private onExit(slot: Slot, code: number): void {
    this.slots.delete(slot)
    const job = slot.job
    slot.job = undefined
    const stuck = slot.terminatedFor === 'timeout'
    if (job && !stuck && !job.timedOut) {
      this.stats.crashes++
      this.options.log?.error({ exitCode: code, threadId: slot.worker.threadId, ...jobIds(job) }, job.split ? 'pool worker died during a shared image' : 'pool worker died during a job')
    }
    if (job?.split) {
      partDone(this.outcomes, slot, job, { type: 'exit', e: new HttpError(500, 'worker_crashed', 'a worker evaluating this request crashed; retry') })
    } else if (job) {
      // a timed-out job was answered 504 at its deadline
      if (job.timedOut) clearTimeout(job.timer)
      else this.fail(job, new HttpError(500, 'worker_crashed', 'the worker evaluating this request crashed; retry'))
    }
    // dead before SEAL loaded or while encoding a model: a start that may fail again the same way
    const startFailed = !slot.retiring && (!slot.loaded || slot.building !== undefined)
    if (startFailed && !this.initError && ++this.startupFailures >= MAX_STARTUP_FAILURES) {
      this.initError = `${MAX_STARTUP_FAILURES} workers exited before loading the models (last exit code ${code})`
      this.readyReject(new Error(this.initError))
    }
    if (this.closing || (this.initError && startFailed)) return
    this.stats.replaced++
    this.options.observer?.workerReplaced?.(stuck ? 'timeout' : (slot.retiring ?? 'crash'))
    this.spawn()
    this.dispatch()
  }

  /** No worker took the job within the queue-wait bound: it leaves the queue; no worker is touched. */
  private queueWaitPassed(job: Job): void {
    const at = this.queue.indexOf(job)
    if (at < 0) return
    this.queue.splice(at, 1)
    this.stats.queueTimeouts++
    this.options.log?.warn({ queueWaitMs: this.queueWaitMs, ...jobIds(job) }, 'pool job waited too long for a worker')
    job.reject(new HttpError(504, 'timeout', `no worker was free within ${this.queueWaitMs} ms`))
  }

  /**
   * The job's evaluation deadline passed: its worker(s) stop at their next check of the cancel
   * flag and the client is answered now. A worker still running it after the grace is stuck.
   */
  private deadlinePassed(job: Job, deadlineMs: number): void {
    job.timedOut = true
    this.stats.timeouts++
    if (job.op === 'classify') this.deadlines.cutOff(job.model, deadlineMs)
    if (job.cancelFlag) raise(job.cancelFlag)
    this.options.log?.warn({ deadlineMs, ...jobIds(job) }, 'pool job past its deadline: cancelled')
    job.reject(new HttpError(504, 'timeout', `no answer within ${deadlineMs} ms`))
    const graceMs = this.deadlines.graceMs(job.model)
    job.timer = setTimeout(() => this.stuck(job, graceMs), graceMs)
  }

  /** A worker ignored the raised flag for the whole grace: synchronous WASM cannot be interrupted, so the thread goes. */
  private stuck(job: Job, graceMs: number): void {
    for (const slot of [...this.slots].filter((s) => s.job === job)) {
      slot.terminatedFor = 'timeout'
      this.options.log?.error({ graceMs, threadId: slot.worker.threadId, ...jobIds(job) }, 'pool worker stuck past the deadline and its grace: replaced')
      void slot.worker.terminate()
    }
  }

  private fail(job: Job, e: Error): void {
    clearTimeout(job.timer)
    job.reject(e)
  }
}
