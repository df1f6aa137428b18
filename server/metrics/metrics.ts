/**
 * Prometheus metrics (prom-client), one Registry per app: tests build many apps in one
 * process, so nothing is registered on prom-client's global default registry. Served by
 * GET /metrics (routes/metrics.ts) to the addresses METRICS_ALLOW names (loopback by default).
 *
 * Labels are bounded: model names come from the server's own model directory, error codes
 * from the closed set below (anything else counts as "other"); no label carries client input,
 * a session id or an address.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { JobOp, PoolObserver, RestartReason } from '../pool/pool'

/** Every code the API answers with (server/README.md, "Error codes"); the label of rejected requests. */
export const API_ERROR_CODES: ReadonlySet<string> = new Set([
  // 400: the client's bytes (src/he/errors.ts, server/routes/body-checks.ts)
  'empty_body',
  'bad_container',
  'unsupported_version',
  'wrong_kind',
  'wrong_ciphertext_count',
  'bad_seal_header',
  'unsupported_compression',
  'bad_compression',
  'bad_packing',
  'wrong_object_size',
  'seal_rejected',
  'wrong_level',
  'wrong_scale',
  'wrong_size',
  'transparent_ciphertext',
  'not_ntt_form',
  'missing_relin_key',
  'missing_rotation_step',
  'unexpected_rotation_step',
  'invalid_parameters',
  'insecure_parameters',
  'parameters_mismatch',
  // HTTP and framework
  'bad_request',
  'bad_url',
  'unknown_session',
  'unknown_model',
  'not_found',
  'request_timeout',
  'body_too_large',
  'uri_too_long',
  'unsupported_media_type',
  'rate_limited',
  'query_budget_exhausted',
  'headers_too_large',
  // classification jobs (routes/jobs.ts)
  'cancelled',
  'unknown_job',
  'request_id_in_use',
  // server side
  'worker_crashed',
  'seal_fault',
  'internal',
  'model_mismatch',
  'overloaded',
  'not_ready',
  'sessions_full',
  'too_many_connections',
  'timeout',
  // distributed mode: a job, request or answer that did not verify (server/distributed/job-mac.ts)
  'integrity_failed',
])

/** The label value for an API error code: itself when known, else "other" (keeps the series bounded). */
export function codeLabel(code: unknown): string {
  return typeof code === 'string' && API_ERROR_CODES.has(code) ? code : 'other'
}

/** What the gauges read at scrape time (distributed mode asks Redis: a promise). */
export interface MetricsSources {
  queued(): number | Promise<number>
  /** absent in an evaluator process, which holds no sessions: no session gauges then */
  sessions?(): number | Promise<number>
  sessionKeyBytes?(): number | Promise<number>
}

// queue waits: from an idle pool (~0) to a full queue of classifications (~tens of seconds)
const QUEUE_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
// one classification takes ~0.3-2 s of a worker, a key validation ~0.1-1 s
const EVALUATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30]

export class Metrics {
  readonly registry = new Registry()
  private sources: MetricsSources | undefined
  private readonly queueWait: Histogram<'op'>
  private readonly evaluation: Histogram<'model' | 'op'>
  private readonly keyCache: Counter<'result'>
  private readonly rejectedRequests: Counter<'code'>
  private readonly workerRestarts: Counter<'reason'>

  /**
   * sessionGauges: false in an evaluator process (server/distributed/evaluator.ts), which holds
   * no sessions; its registry has the queue, evaluation, key-cache and restart series only.
   */
  constructor(options: { defaultMetrics?: boolean; sessionGauges?: boolean } = {}) {
    const registers = [this.registry]
    const metrics = this
    new Gauge({
      name: 'blindfold_queue_depth',
      help: 'Jobs waiting for a worker (beyond those running); distributed mode: waiting in the shared queue',
      registers,
      async collect() {
        this.set((await metrics.sources?.queued()) ?? 0)
      },
    })
    this.queueWait = new Histogram({
      name: 'blindfold_queue_wait_seconds',
      help: 'Time a job waited in the queue, from enqueue to dispatch to a worker',
      labelNames: ['op'],
      buckets: QUEUE_WAIT_BUCKETS,
      registers,
    })
    this.evaluation = new Histogram({
      name: 'blindfold_evaluation_seconds',
      help: "A worker's own time for a job it answered successfully, by model and op (validate = key upload, classify = one image)",
      labelNames: ['model', 'op'],
      buckets: EVALUATION_BUCKETS,
      registers,
    })
    this.keyCache = new Counter({
      name: 'blindfold_key_cache_total',
      help: "Jobs dispatched to a worker that held the session's loaded keys (hit) or that had to be sent them (miss; a worker answering need_keys counts a further miss)",
      labelNames: ['result'],
      registers,
    })
    if (options.sessionGauges !== false) {
      new Gauge({
        name: 'blindfold_sessions',
        help: 'Sessions held (expired ones until the next sweep, at most 30 s)',
        registers,
        async collect() {
          this.set((await metrics.sources?.sessions?.()) ?? 0)
        },
      })
      new Gauge({
        name: 'blindfold_session_key_bytes',
        help: 'Evaluation-key bytes held by all sessions',
        registers,
        async collect() {
          this.set((await metrics.sources?.sessionKeyBytes?.()) ?? 0)
        },
      })
    }
    this.rejectedRequests = new Counter({
      name: 'blindfold_rejected_requests_total',
      help: 'Requests answered with a 4xx or 5xx, by API error code ("other" for a code outside the documented set)',
      labelNames: ['code'],
      registers,
    })
    this.workerRestarts = new Counter({
      name: 'blindfold_worker_restarts_total',
      help: 'Worker threads replaced: died (crash), terminated past a deadline (timeout), retired after answering (heap_limit, seal_fault)',
      labelNames: ['reason'],
      registers,
    })
    // the known label values exist from the start, at 0, so rate() and absent() behave
    for (const result of ['hit', 'miss']) this.keyCache.inc({ result }, 0)
    for (const reason of ['crash', 'timeout', 'heap_limit', 'seal_fault'] satisfies RestartReason[]) this.workerRestarts.inc({ reason }, 0)
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry })
  }

  /** Where the gauges read the queue and the session store (they exist after the metrics). */
  watch(sources: MetricsSources): void {
    this.sources = sources
  }

  /** The pool's hooks (PoolOptions.observer). */
  readonly poolObserver: PoolObserver = {
    dispatched: ({ op, queueWaitMs, keysSent }) => {
      this.queueWaited(op, queueWaitMs)
      this.keyCache.inc({ result: keysSent ? 'miss' : 'hit' })
    },
    keysMissing: () => this.keyCache.inc({ result: 'miss' }),
    evaluated: ({ op, model, workerMs }) => this.evaluated(op, model, workerMs),
    workerReplaced: (reason) => this.workerRestarts.inc({ reason }),
  }

  /** A job left the queue for a worker after `ms` (distributed mode: seen by the API replica that enqueued it). */
  queueWaited(op: JobOp, ms: number): void {
    this.queueWait.observe({ op }, ms / 1000)
  }

  /** A job was answered successfully after `workerMs` of a worker's own time. */
  evaluated(op: JobOp, model: string, workerMs: number): void {
    this.evaluation.observe({ model, op }, workerMs / 1000)
  }

  /** One request answered with an error status, by its API error code. */
  rejected(code: unknown): void {
    this.rejectedRequests.inc({ code: codeLabel(code) })
  }

  /** The Prometheus text exposition and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
