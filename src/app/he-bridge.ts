/**
 * Owns the HE worker. Starts it lazily, runs one call at a time (SEAL is
 * single-threaded; a queue keeps the order images were given in), and if
 * the worker dies it starts a new one and re-establishes the session
 * before the next call. It is never killed on idle: it holds the secret key.
 */
import { proxy, transfer, wrap, type Remote } from 'comlink'
import type { ClassifyResult, ClassifyStage, SessionInfo, SessionProgress, WorkerEvent } from '../api/he-worker-types'
import type { HeWorkerApi } from '../../workers/he.worker'

export interface BridgeEvents {
  onSessionProgress(p: SessionProgress): void
  onSession(info: SessionInfo): void
  onRequest(e: WorkerEvent): void
  onCrash(message: string): void
}

interface Live {
  worker: Worker
  api: Remote<HeWorkerApi>
  /** rejects when the worker dies, so no call waits forever on a dead worker */
  dead: Promise<never>
  session?: SessionInfo
}

export class HeBridge {
  private live?: Live
  private queue: Promise<unknown> = Promise.resolve()
  private readonly events: BridgeEvents
  private readonly modelName?: string

  constructor(events: BridgeEvents, modelName?: string) {
    this.events = events
    this.modelName = modelName
  }

  /** Ensures keys exist and are uploaded (a no-op once they are). */
  ensureSession(): Promise<SessionInfo> {
    return this.serial(async () => (await this.ready()).session!)
  }

  /** Fresh keys: the old secret key is dropped, the old session deleted. */
  newKeys(): Promise<SessionInfo> {
    return this.serial(async () => {
      const live = await this.ready()
      return this.startSession(live)
    })
  }

  classify(pixels: Uint8Array, onStage: (s: ClassifyStage) => void): Promise<ClassifyResult> {
    return this.serial(async () => {
      const live = await this.ready()
      const copy = pixels.slice() // the copy's buffer moves to the worker
      return this.guarded(live, live.api.classify(transfer(copy, [copy.buffer]), proxy(onStage)))
    })
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

  private async ready(): Promise<Live> {
    const live = this.live ?? this.spawn()
    if (!live.session) await this.startSession(live)
    return live
  }

  private async startSession(live: Live): Promise<SessionInfo> {
    const info = await this.guarded(
      live,
      live.api.startSession(
        this.modelName,
        proxy((p: SessionProgress) => this.events.onSessionProgress(p)),
      ),
    )
    live.session = info
    this.events.onSession(info)
    return info
  }

  private spawn(): Live {
    const worker = new Worker(new URL('../../workers/he.worker.ts', import.meta.url), { type: 'module', name: 'blindfold-he' })
    let fail: (e: Error) => void = () => undefined
    const dead = new Promise<never>((_, reject) => (fail = reject))
    dead.catch(() => undefined)
    const live: Live = { worker, api: wrap<HeWorkerApi>(worker), dead }
    const onDeath = (message: string) => {
      if (this.live === live) this.live = undefined
      worker.terminate()
      fail(new Error(message))
      this.events.onCrash(message)
      // the secret key died with the worker: make new keys now, not on the next image
      this.ensureSession().catch((e: unknown) => this.events.onCrash(e instanceof Error ? e.message : String(e)))
    }
    worker.addEventListener('error', (e) => onDeath(`The encryption worker crashed${e.message ? `: ${e.message}` : ''}. It will restart with new keys.`))
    worker.addEventListener('messageerror', () => onDeath('The encryption worker sent an unreadable message. It will restart with new keys.'))
    void live.api.listen(proxy((e: WorkerEvent) => this.events.onRequest(e)))
    this.live = live
    return live
  }

  private guarded<T>(live: Live, call: Promise<T>): Promise<T> {
    return Promise.race([call, live.dead])
  }
}
