/**
 * The pool's side of one worker thread: the thread, what the pool believes it holds, and why it
 * may be leaving. The thread's own side is worker.ts.
 */
import { Worker } from 'node:worker_threads'
import type { Job } from './job'
import type { FromWorker, Retirement, WorkerInit } from './messages'

export interface Slot {
  worker: Worker
  ready: boolean
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
  const slot: Slot = { worker, ready: false, cached: new Set() }
  worker.on('message', (m: FromWorker) => on.message(slot, m))
  worker.on('error', (e) => on.error(slot, e))
  worker.on('exit', (code) => on.exit(slot, code))
  return slot
}
