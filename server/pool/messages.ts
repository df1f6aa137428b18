// The protocol between the pool (main thread) and its worker threads.

export interface WorkerInit {
  models: Array<{ manifest: unknown; weightBytes: Uint8Array }>
  keyCache: number
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
      /** test hook: the worker dies on this job the way a WASM abort would */
      crash?: true
    }
  | { type: 'drop'; session: string }

export type FromWorker =
  | { type: 'ready' }
  | { type: 'init_error'; message: string }
  | { type: 'need_keys'; id: number }
  | { type: 'done'; id: number; response?: Uint8Array; ms: number; cached: string[] }
  | { type: 'failed'; id: number; code: string; message: string; clientFault: boolean; cached: string[] }
