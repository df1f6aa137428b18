/**
 * The pool's side of one worker thread: the thread, what the pool believes it holds, and why it
 * may be leaving. The thread's own side is worker.ts.
 */
import { Worker } from 'node:worker_threads'
import type { Job } from './job'
import type { FromWorker, Retirement, WorkerInit } from './messages'

export interface Slot {
  worker: Worker
  /** SEAL has loaded: the worker takes build orders */
  loaded: boolean
  /** models it has built: it serves them whenever it is not building */
  models: Set<string>
  /** the model it is building now (its thread takes no job until it is built) */
  building?: string
  job?: Job
  /** sessions this worker reported holding after its last job */
  cached: Set<string>
  /** set when we terminate the worker ourselves: stuck past a job's deadline and grace, or the pool closing */
  terminatedFor?: 'timeout' | 'close'
  /** set when the worker announced it exits after its answer */
  retiring?: Retirement
  /** its part of the shared image it runs (job.split) */
  splitPart?: number
}

const WORKER_URL = new URL('./worker-entry.mjs', import.meta.url)

/** Starts a worker thread; its messages, errors and exit go to `on`. */
export function startSlot(
  init: WorkerInit,
  on: { message(slot: Slot, m: FromWorker): void; error(slot: Slot, e: Error): void; exit(slot: Slot, code: number): void },
): Slot {
  // the entry registers tsx in the thread so the worker imports the TypeScript sources as they are
  const worker = new Worker(WORKER_URL, { workerData: init, execArgv: [] })
  const slot: Slot = { worker, loaded: false, models: new Set(), cached: new Set() }
  worker.on('message', (m: FromWorker) => on.message(slot, m))
  worker.on('error', (e) => on.error(slot, e))
  worker.on('exit', (code) => on.exit(slot, code))
  return slot
}

/** Whether the worker can take a job of `model` when it has none: it has built the model, builds nothing now and is not leaving. */
export function serves(slot: Slot, model: string): boolean {
  return slot.models.has(model) && slot.building === undefined && !slot.retiring
}

/** Workers running a job of `client` now (jobs without a client count as one client, ''). */
export function heldBy(slots: Iterable<Slot>, client: string | undefined): number {
  return [...slots].filter((s) => s.job !== undefined && (s.job.client ?? '') === (client ?? '')).length
}

/** Workers that take jobs of `model`, busy or not. */
export function servingCount(slots: Iterable<Slot>, model: string): number {
  return [...slots].filter((s) => s.models.has(model) && s.building === undefined && !s.retiring).length
}
