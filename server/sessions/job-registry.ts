/**
 * Classifications a client named with the x-blindfold-request-id header, found by
 * (session id, request id) for GET/DELETE .../jobs/:requestId (routes/jobs.ts). A job is
 * here from the moment its POST arrives (before its body is read, so the first poll never
 * misses it) until the POST ends; then its final state stays a short while (`keepMs`), so
 * a poll that crosses the POST's answer still learns how the job ended.
 *
 * Bounded: live entries by the open connections that carry them, final states by
 * `maxFinished` (the oldest go first) and by age. The request id is the client's choice;
 * a session id is a bearer token, so a job is found only under its own session.
 */
import { HttpError } from '../http/http-error'

export type FinalState = 'done' | 'failed' | 'cancelled'

export interface TrackedJob {
  readonly session: string
  readonly requestId: string
  /** the pool's key of this job: its POST's Fastify request id */
  readonly poolKey: string
  /** the model's stage names (their count is the total) */
  readonly stages: readonly string[]
  /** stages finished, as the pool last reported */
  done: number
  /** a DELETE asked for it, or the client went away: it will get no answer */
  cancelRequested: boolean
  /** set once the POST has ended */
  final?: { state: FinalState; at: number }
}

export interface JobRegistryOptions {
  /** how long a final state is kept after its POST ended */
  keepMs: number
  /** final states kept in all */
  maxFinished: number
  now?: () => number
}

// session ids and request ids never hold a space (REQUEST_ID_PATTERN; a session id is base64url)
const keyOf = (session: string, requestId: string) => `${session} ${requestId}`

export class JobRegistry {
  private readonly live = new Map<string, TrackedJob>()
  /** in the order the jobs ended: the first entry is the oldest */
  private readonly finished = new Map<string, TrackedJob>()
  private readonly now: () => number

  constructor(private readonly options: JobRegistryOptions) {
    this.now = options.now ?? Date.now
  }

  get size(): { live: number; finished: number } {
    return { live: this.live.size, finished: this.finished.size }
  }

  /** Registers a live job; 409 request_id_in_use while this session has a live job of that id (a finished one's id may be reused). */
  open(session: string, requestId: string, poolKey: string, stages: readonly string[]): TrackedJob {
    const key = keyOf(session, requestId)
    if (this.live.has(key)) throw new HttpError(409, 'request_id_in_use', 'a classification with this request id is still running in this session')
    this.finished.delete(key)
    const job: TrackedJob = { session, requestId, poolKey, stages, done: 0, cancelRequested: false }
    this.live.set(key, job)
    return job
  }

  /** The live job, or the final state of one that ended less than keepMs ago. */
  find(session: string, requestId: string): TrackedJob | undefined {
    const key = keyOf(session, requestId)
    const live = this.live.get(key)
    if (live) return live
    this.prune()
    return this.finished.get(key)
  }

  /** The POST ended (the first call wins): the job's final state is kept for a while. */
  finish(job: TrackedJob, state: FinalState): void {
    if (job.final) return
    job.final = { state, at: this.now() }
    if (state === 'done') job.done = job.stages.length
    const key = keyOf(job.session, job.requestId)
    if (this.live.get(key) === job) this.live.delete(key)
    this.finished.set(key, job)
    this.prune()
  }

  private prune(): void {
    const expired = this.now() - this.options.keepMs
    for (const [key, job] of this.finished) {
      if (this.finished.size <= this.options.maxFinished && job.final!.at > expired) break
      this.finished.delete(key)
    }
  }
}
