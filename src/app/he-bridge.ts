/**
 * Owns the HE worker. Starts it lazily, runs one call at a time (SEAL is
 * single-threaded; a queue keeps the order images were given in), and if
 * the worker dies it starts a new one; sessions (one per model) are made
 * again before their next use. It is never killed on idle: it holds the
 * secret keys.
 */
import { proxy, transfer, wrap, type Remote } from 'comlink'
import type { ClassifiedImage, ClassifyStage, HeWorkerApi, ListedModel, ServerProgress, SessionInfo, SessionProgress, WorkerEvent } from '../api/he-worker-types'
import { watchDeath } from './worker-death'

export interface BridgeEvents {
  onSessionProgress(model: string, p: SessionProgress): void
  onSession(model: string, info: SessionInfo): void
  onRequest(e: WorkerEvent): void
  /** the worker died: every model's keys died with it */
  onCrash(message: string): void
}

/** A classification the user cancelled; the page shows it as such, not as a failure. */
export class CancelledError extends Error {
  override name = 'CancelledError'
  constructor() {
    super('Cancelled. Nothing more is computed for this image.')
  }
}

interface Live {
  worker: Worker
  api: Remote<HeWorkerApi>
  /** rejects when the worker dies, so no call waits forever on a dead worker */
  dead: Promise<never>
  sessions: Map<string, SessionInfo>
}

export interface ClassifyCallbacks {
  onStage(s: ClassifyStage): void
  onProgress(p: ServerProgress): void
}

export class HeBridge {
  private live?: Live
  private queue: Promise<unknown> = Promise.resolve()
  private readonly cancelled = new Set<string>()
  /** request ids the worker is working on now */
  private readonly running = new Set<string>()

  constructor(private readonly events: BridgeEvents) {}

  /** Starts the worker, which loads SEAL meanwhile, ahead of the first call (a no-op while one runs). */
  start(): void {
    if (!this.live) this.spawn()
  }

  /** The server's models (asked once per worker, or again when `refresh`: their costs change as the server measures). */
  models(refresh = false): Promise<ListedModel[]> {
    const live = this.live ?? this.spawn()
    return this.guarded(live, live.api.models(refresh))
  }

  /** Ensures the model's keys exist and are uploaded (a no-op once they are). */
  ensureSession(model: string): Promise<SessionInfo> {
    return this.serial(async () => (await this.ready(model)).sessions.get(model)!)
  }

  /** Fresh keys for one model: its old secret key is dropped, its old session deleted. */
  newKeys(model: string): Promise<SessionInfo> {
    return this.serial(async () => {
      const live = this.live ?? this.spawn()
      return this.startSession(live, model, true)
    })
  }

  /** Classifies `pixels` (the model's raw HWC input) under the request id the page chose. */
  classify(model: string, pixels: Uint8Array, requestId: string, callbacks: ClassifyCallbacks): Promise<ClassifiedImage> {
    return this.serial(async () => {
      if (this.cancelled.delete(requestId)) throw new CancelledError()
      const live = await this.ready(model)
      if (this.cancelled.delete(requestId)) throw new CancelledError()
      const copy = pixels.slice() // the copy's buffer moves to the worker
      this.running.add(requestId)
      try {
        return await this.guarded(
          live,
          live.api.classify(model, transfer(copy, [copy.buffer]), requestId, proxy(callbacks.onStage), proxy(callbacks.onProgress)),
        )
      } catch (e) {
        throw this.cancelled.has(requestId) ? new CancelledError() : e
      } finally {
        this.running.delete(requestId)
        this.cancelled.delete(requestId)
      }
    })
  }

  /** Cancels a classification: a queued one never starts, a running one is aborted in the worker. */
  cancel(requestId: string): void {
    this.cancelled.add(requestId)
    if (this.running.has(requestId)) void this.live?.api.cancel(requestId)
  }

  /** For tests and the "crash" path: kill the worker as a crash would. */
  terminate(): void {
    this.live?.worker.terminate()
    this.live = undefined
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job)
    this.queue = run.catch(() => undefined)
    return run
  }

  private async ready(model: string): Promise<Live> {
    const live = this.live ?? this.spawn()
    if (!live.sessions.has(model)) await this.startSession(live, model, false)
    return live
  }

  private async startSession(live: Live, model: string, fresh: boolean): Promise<SessionInfo> {
    const onProgress = proxy((p: SessionProgress) => this.events.onSessionProgress(model, p))
    const info = await this.guarded(live, fresh ? live.api.newKeys(model, onProgress) : live.api.ensureSession(model, onProgress))
    live.sessions.set(model, info)
    this.events.onSession(model, info)
    return info
  }

  private spawn(): Live {
    const worker = new Worker(new URL('../../workers/he.worker.ts', import.meta.url), { type: 'module', name: 'blindfold-he' })
    const dead = watchDeath(
      worker,
      {
        crashed: (detail) => `The encryption worker crashed${detail ? `: ${detail}` : ''}. It will restart with new keys.`,
        unreadable: 'The encryption worker sent an unreadable message. It will restart with new keys.',
      },
      (message) => {
        if (this.live === live) this.live = undefined
        this.events.onCrash(message)
      },
    )
    const live: Live = { worker, api: wrap<HeWorkerApi>(worker), dead, sessions: new Map() }
    void live.api.listen(proxy((e: WorkerEvent) => this.events.onRequest(e)))
    this.live = live
    return live
  }

  private guarded<T>(live: Live, call: Promise<T>): Promise<T> {
    return Promise.race([call, live.dead])
  }
}
