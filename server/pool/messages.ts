// The protocol between the pool (main thread) and its worker threads.
import type { MessagePort } from 'node:worker_threads'

export interface WorkerInit {
  /** every model the worker may be asked to build; it builds each on the pool's `build` order */
  models: Array<{ manifest: unknown; weightBytes: Uint8Array }>
  keyCache: number
  /** past this many bytes of WASM heap after a job, the worker retires (0: no bound) */
  heapLimitBytes: number
  /** std of the Gaussian noise added to encrypted logits (0: none) */
  logitNoiseStd: number
  /** injected by tests only (PoolFaults.holdBuild): before building this model, wait for the gate */
  holdBuild?: { model: string; gate: SharedArrayBuffer }
}

export type ToWorker =
  | {
      type: 'job'
      id: number
      op: 'validate' | 'classify'
      session: string
      model: string
      /** sent only when the pool does not believe the worker holds this session's keys */
      keys?: Uint8Array
      request?: Uint8Array
      /** one image shared by `parts` workers: this one's part and its ports to the others (split-job.ts) */
      split?: { part: number; parts: number; ports: MessagePort[] }
      /**
       * classify only: an Int32Array(1) flag the pool sets (Atomics.store, then notify) to stop
       * the job; the evaluation reads it between stages. Shared, not copied: every part of a
       * shared image gets the same buffer.
       */
      cancel?: SharedArrayBuffer
      /** injected by tests only (PoolOptions.faults): what goes wrong with this job in the worker */
      fault?: WorkerFault
    }
  | { type: 'drop'; session: string }
  /** encode this model's weights (build-order.ts says which and when); answered by `built` */
  | { type: 'build'; model: string }

export type FromWorker =
  /** SEAL has loaded: the worker takes build orders */
  | { type: 'loaded' }
  | {
      type: 'built'
      model: string
      buildMs: number
      /** what the worker's WASM heap grew by while building the model, and its size after */
      heapGrowthBytes: number
      heapBytes: number
    }
  /** SEAL failed to load or a model failed to build: the worker exits */
  | { type: 'init_error'; message: string }
  | { type: 'need_keys'; id: number }
  /** a classification (a shared image: its lead part) finished `done` of `total` stages; `stage` runs now (absent at the end) */
  | { type: 'progress'; id: number; done: number; total: number; stage?: string }
  | { type: 'done'; id: number; response?: Uint8Array; ms: number; cached: string[]; retire?: Retirement }
  | { type: 'failed'; id: number; code: string; message: string; clientFault: boolean; cached: string[]; retire?: Retirement }

/**
 * A fault a test injects into one job (PoolOptions.faults, faults.ts); production never sends one.
 */
export interface WorkerFault {
  /** the worker dies on this job the way a WASM abort would */
  crash?: boolean
  /** SEAL traps in this job (a WebAssembly.RuntimeError) */
  trap?: boolean
  /** after each stage the worker waits this long, woken early by the cancel flag */
  stageDelayMs?: number
  /** before the job the worker blocks this long and reads no cancel flag: a stuck thread */
  stuckMs?: number
}

/** Why a worker exits after answering: its heap passed the bound, or SEAL failed in a way that may have broken it. */
export type Retirement = 'heap_limit' | 'seal_fault'
