// What a WorkerPool is built with and whom it tells what happened (pool.ts).
import type { ModelFiles } from '../../src/datasets/model-files'
import type { EvaluationPlan } from '../../src/he/evaluation-plan'
import type { JobOp, PoolFaults } from './faults'
import type { Retirement } from './messages'

export interface PoolOptions {
  models: Map<string, ModelFiles>
  /** the models' plans where the caller has derived them already (the app's back end): the build order reads them instead of deriving each again */
  plans?: ReadonlyMap<string, EvaluationPlan>
  size: number
  queueMax: number
  /** floor of every model's evaluation deadline, counted from a worker taking the job (deadlines.ts) */
  timeoutMs: number
  /** longest a job waits in the queue for a worker; past it the client gets 504 and no worker is touched (unset: timeoutMs) */
  queueWaitMs?: number
  keyCache: number
  /** a worker whose WASM heap passes this many bytes after a job is replaced (0 or unset: no bound) */
  heapLimitBytes?: number
  /** std of Gaussian noise added to the encrypted logits (0 or unset: exact logits) */
  logitNoiseStd?: number
  log?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void }
  /** metrics hooks (server/metrics/metrics.ts); called synchronously, must not throw */
  observer?: PoolObserver
  /**
   * Share an image with every idle worker (one image on several cores, split-job.ts) when more
   * than one is idle at dispatch; under load each image keeps one worker (throughput).
   */
  shareImages?: boolean
  /** tests only: what goes wrong with each job (faults.ts); production passes none */
  faults?: PoolFaults
}

/** Why a worker was replaced: it died (crash), was stuck past a job's deadline and grace (timeout), or retired after answering. */
export type RestartReason = 'crash' | 'timeout' | Retirement

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
