/**
 * A job as the pool holds it from submit to answer, and what a worker is sent for it.
 */
import type { ClassifyOptions } from '../backend/contract'
import type { CancelFlag } from './cancel-flag'
import type { JobOp } from './faults'
import type { ToWorker, WorkerFault } from './messages'

export interface JobResult {
  response?: Uint8Array
  ms: number
  /** workers that shared the image (1: one worker) */
  parts: number
}

/** One image shared by several workers: parts still to answer, and what they said. */
export interface SharedState {
  parts: number
  pending: number
  response?: Uint8Array
  ms?: number
  error?: { rank: number; e: Error }
}

export interface Job {
  id: number
  op: JobOp
  session: string
  /** the session's owner, for the per-client share of workers and queue (dispatch-rule.ts) */
  client?: string
  model: string
  /** the HTTP request's id, logged with the job id (never the session id) */
  requestId?: string
  /** performance.now() when the job entered the queue */
  enqueuedAt: number
  /** later jobs a worker took ahead of this one (affinity), see dispatch-rule.ts */
  passedOver: number
  keys: Uint8Array
  request?: Uint8Array
  resolve(r: JobResult): void
  reject(e: Error): void
  /**
   * While queued: the queue-wait bound. Once a worker has it: the evaluation deadline, then the
   * grace after which its worker counts as stuck (deadlines.ts).
   */
  timer?: NodeJS.Timeout
  /** the evaluation deadline passed: the client has its 504; its workers' late answers only free them */
  timedOut?: boolean
  /** set when the image is shared by several workers (shared-image.ts) */
  split?: SharedState
  /** classify: the flag its worker(s) read between stages; raised by cancel() and at the deadline */
  cancelFlag?: CancelFlag
  /** cancel() was called: the job ends in 409 cancelled, whatever its worker answers */
  cancelled?: boolean
  /** classify: what its worker last reported (stages done, the stage running now) */
  progress?: { done: number; stage?: string }
  onProgress?: ClassifyOptions['onProgress']
  /** only loads the session's keys into its worker ahead of shared images (key-warm.ts): no client waits, and no evaluation is counted */
  ahead?: boolean
  /** injected by a test (PoolOptions.faults); never set in production */
  fault?: WorkerFault
}

type JobMessage = Extract<ToWorker, { type: 'job' }>

/** A job for one worker: keys only when it does not hold them (copied: the session store keeps its own). */
export function jobMessage(job: Job, withKeys: boolean, request: Uint8Array | undefined, extra: Pick<JobMessage, 'split' | 'fault'> = {}): JobMessage {
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
    ...extra,
  }
}

/** What pool logs say about a job: its id and its HTTP request's id (Fastify's reqId), never its session. */
export function jobIds(job: Job | undefined): { jobId?: number; reqId?: string } {
  return job ? { jobId: job.id, reqId: job.requestId } : {}
}
