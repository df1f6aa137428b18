/**
 * How an API replica learns that a job it enqueued has ended, through two paths, whichever tells
 * first: QueueEvents' completed / failed events (prompt) and a poll of the job's state in Redis
 * every STATE_POLL_MS. The poll is what cannot miss: an event published while the replica's
 * QueueEvents stream was reconnecting (Redis restarted, a loaded machine slow to reconnect) is
 * never heard, and BullMQ's job.waitUntilFinished would then wait for its whole ttl. Poll errors
 * (Redis down) are ignored: the caller's own timeout bounds the whole wait.
 */
import type { Job, Queue, QueueEvents } from 'bullmq'
import type { Redis } from 'ioredis'
import type { EvalJobData, EvalJobName, EvalJobResult } from './job-wire'
import { redisKeys } from './redis-keys'

/** How often a waiting request checks its job's state in Redis (besides QueueEvents' events). */
const STATE_POLL_MS = 1000

export type JobEnd =
  /** finished; `result` is BullMQ's return value, absent for a job removed before this poll (its response still waits) */
  | { kind: 'completed'; result?: unknown }
  | { kind: 'failed'; reason: string | undefined }
  /** a newcomer took its place in the full queue (its flag verified): removed before it ran */
  | { kind: 'displaced' }
  /** Redis no longer holds the job (restarted empty) */
  | { kind: 'gone' }

export interface FollowContext {
  events: QueueEvents
  queue: Queue<EvalJobData, EvalJobResult, EvalJobName>
  redis: Redis
  /** false once the caller stopped waiting (timeout, abort, close): following ends quietly */
  stillLive(): boolean
  /** whether a job Redis no longer holds was displaced by a newcomer (queue-admission.ts) */
  wasDisplaced(jobId: string): Promise<boolean>
  ended(end: JobEnd): void
}

export function followJob(job: Job<EvalJobData, EvalJobResult, EvalJobName>, c: FollowContext): void {
  const jobId = job.id!
  // BullMQ emits `completed:ID` / `failed:ID` too (untyped in its listener map)
  const events = c.events as unknown as NodeJS.EventEmitter
  let over = false
  const completedEvent = `completed:${jobId}`
  const failedEvent = `failed:${jobId}`
  const end = (e?: JobEnd) => {
    if (over) return
    over = true
    clearInterval(poll)
    events.off(completedEvent, onCompleted)
    events.off(failedEvent, onFailed)
    if (e) c.ended(e)
  }
  const onCompleted = (args: { returnvalue: unknown }) => end({ kind: 'completed', result: args.returnvalue })
  const onFailed = (args: { failedReason: string }) => end({ kind: 'failed', reason: args.failedReason })
  events.on(completedEvent, onCompleted)
  events.on(failedEvent, onFailed)
  let polling = false
  const poll = setInterval(() => {
    if (!c.stillLive()) return end()
    if (polling || c.redis.status !== 'ready') return
    polling = true
    c.queue
      .getJobState(jobId)
      .then(async (state) => {
        if (!c.stillLive()) return
        // the job is read after its state said it ended: a copy read before (still running) would
        // lack the return value or failure reason it has now
        const j = state === 'unknown' ? undefined : state === 'completed' || state === 'failed' ? await c.queue.getJob(jobId) : job
        if (!c.stillLive()) return
        if (!j) {
          // removed (or expired) after it finished, before this poll: a classification's response still waits
          if (job.name === 'classify' && (await c.redis.exists(redisKeys.result(jobId))) === 1) return end({ kind: 'completed' })
          const displaced = await c.wasDisplaced(jobId)
          if (c.stillLive()) end({ kind: displaced ? 'displaced' : 'gone' })
          return
        }
        if (state === 'completed') end({ kind: 'completed', result: j.returnvalue })
        else if (state === 'failed') end({ kind: 'failed', reason: j.failedReason })
      })
      .catch(() => {})
      .finally(() => (polling = false))
  }, STATE_POLL_MS)
}
