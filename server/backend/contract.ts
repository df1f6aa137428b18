/**
 * The server's back-end contract: what the routes need from the evaluation back end and from
 * the session store, whichever mode the server runs in (server/backend/plugin.ts picks one).
 * Routes, the in-process pool and the distributed back end all import it from here, so the
 * routes never depend on a back end:
 * - embedded (no REDIS_URL): the in-process WorkerPool and the in-memory SessionStore;
 * - distributed (REDIS_URL): the BullMQ queue facade and the Redis session store
 *   (server/distributed/), the work done by `npm run evaluator` processes.
 * Session methods may answer a value or a promise: the routes await them either way.
 */
import { HttpError } from '../http/http-error'
import type { Session } from '../sessions/session-store'

/** Where a live classification stands (Evaluation.progress). */
export type PoolJobState =
  | { state: 'queued'; /** jobs ahead of it in the queue */ queuePosition: number }
  | { state: 'running'; /** stages finished */ done: number; /** the stage running now, once the worker has reported one */ stage?: string }

export interface ClassifyOptions {
  /** who asks (the session's owner): the embedded pool shares workers and queue places by it */
  client?: string
  /** each stage the worker finished (a shared image: as its lead part reports it) */
  onProgress?(p: { done: number; total: number; stage?: string }): void
}

/** What a cancelled classification answers: a client's choice, not a fault. */
export function cancelledError(): HttpError {
  return new HttpError(409, 'cancelled', 'the classification was cancelled')
}

export interface Evaluation {
  /** settles once the back end can take work for every model (every worker has built every model / Redis reached) */
  readonly ready: Promise<void>
  /** some model is served (GET /readyz answers 200) */
  isReady(): boolean
  /** whether this model is served now (a back end that cannot tell serves all of them once isReady()) */
  modelReady?(model: string): boolean
  /** why the back end cannot start, if it cannot */
  readonly failure: string | undefined
  /** why isReady() is false now, when the back end can say more than "loading" (GET /readyz) */
  notReadyReason?(): string
  /** jobs this process is waiting on that no worker has started yet */
  readonly queued: number
  /** jobs waiting for a worker in the whole queue (distributed: every replica's, in Redis); default `queued` */
  queueDepth?(): Promise<number>
  /** distributed mode asks Redis where a waiting job stands: a promise then */
  progress(requestId: string): PoolJobState | undefined | Promise<PoolJobState | undefined>
  cancel(requestId: string): boolean
  /** options.client: who uploads (distributed mode counts the validation in that client's turn) */
  validateKeys(session: string, model: string, keys: Uint8Array, requestId?: string, options?: Pick<ClassifyOptions, 'client'>): Promise<void>
  classify(
    session: string,
    model: string,
    keys: Uint8Array,
    request: Uint8Array,
    requestId?: string,
    options?: ClassifyOptions,
  ): Promise<{ response: Uint8Array; ms: number; parts: number }>
  dropSession(session: string): void
  close(): Promise<void>
}

/** Whether `model` is served now: per model where the back end tells, else with the back end as a whole. */
export function modelServed(evaluation: Evaluation, model: string): boolean {
  return evaluation.modelReady ? evaluation.modelReady(model) : evaluation.isReady()
}

type MaybePromise<T> = T | Promise<T>

export interface Sessions {
  /** sessions held (distributed: as last counted in Redis) */
  readonly size: number
  readonly totalBytes: number
  admit(owner: string, bytes: number): MaybePromise<void>
  add(id: string, model: string, keys: Uint8Array, owner: string): MaybePromise<Session>
  peek(id: string): MaybePromise<Session | undefined>
  touch(id: string): MaybePromise<Session | undefined>
  delete(id: string): MaybePromise<boolean>
  close(): MaybePromise<void>
}
