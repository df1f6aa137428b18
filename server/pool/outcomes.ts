/**
 * What a worker's answer (or its death) means for the job it held: the client's answer, the
 * counts, the measured time the deadlines learn from, and whether the worker retires.
 */
import { cancelledError } from '../backend/contract'
import { HttpError } from '../http/http-error'
import { BlindfoldError, type ErrorCode } from '../../src/he/errors'
import type { Deadlines } from './deadlines'
import { jobIds, type Job } from './job'
import type { FromWorker, Retirement } from './messages'
import type { PoolObserver, PoolOptions } from './pool-options'
import { partAnswered, type PartAnswer } from './shared-image'
import type { Slot } from './worker-slot'

export type Answer = Extract<FromWorker, { type: 'done' | 'failed' | 'need_keys' }>

/** counts for the fault tests and the load bench (WorkerPool.stats) */
export function newStats() {
  return {
    crashes: 0,
    /** jobs past their evaluation deadline */
    timeouts: 0,
    /** jobs no worker took within the queue-wait bound */
    queueTimeouts: 0,
    replaced: 0,
    completed: 0,
    cancelled: 0,
    keyTransfers: 0,
    splitImages: 0,
    retired: { heap_limit: 0, seal_fault: 0 },
  }
}
export type PoolStats = ReturnType<typeof newStats>

export interface OutcomeContext {
  readonly stats: PoolStats
  readonly deadlines: Deadlines
  readonly log?: PoolOptions['log']
  readonly observer?: PoolObserver
  /** sends the job to the same worker again, with its keys (the worker answered need_keys) */
  rerunWithKeys(slot: Slot, job: Job): void
}

/** The worker running `job` alone answered. */
export function soloAnswered(ctx: OutcomeContext, slot: Slot, job: Job, m: Answer): void {
  if (m.type === 'need_keys') {
    slot.cached.delete(job.session)
    ctx.observer?.keysMissing?.({ op: job.op, model: job.model })
    if (!job.cancelled && !job.timedOut) return ctx.rerunWithKeys(slot, job)
    clearTimeout(job.timer)
    // cancelled: 409; timed out: already answered 504
    if (!job.timedOut) job.reject(cancelledError())
    return
  }
  slot.cached = new Set(m.cached)
  if (m.retire) retire(ctx, slot, m.retire, job)
  clearTimeout(job.timer)
  // answered 504 at its deadline: the worker came back, which is all that matters now
  if (job.timedOut) return ctx.log?.info({ answer: m.type, ...jobIds(job) }, 'pool worker back after a timed-out job')
  if (m.type === 'done') {
    ctx.stats.completed++
    if (job.op === 'classify' && !job.cancelled) ctx.deadlines.record(job.model, m.ms)
    if (!job.ahead) ctx.observer?.evaluated?.({ op: job.op, model: job.model, workerMs: m.ms })
    // finished before the worker saw the flag: a cancelled job still gives no answer
    if (job.cancelled) job.reject(cancelledError())
    else job.resolve({ response: m.response, ms: m.ms, parts: 1 })
  } else if (m.clientFault) {
    job.reject(job.cancelled || m.code === 'cancelled' ? cancelledError() : new BlindfoldError(m.code as ErrorCode, m.message))
  } else {
    ctx.log?.error({ code: m.code, err: m.message, ...jobIds(job) }, 'pool job failed')
    job.reject(job.cancelled ? cancelledError() : new HttpError(500, m.code, 'the model evaluation failed on the server'))
  }
}

/** A part of a shared image answered (or its worker died): the job settles when every part has. */
export function partDone(ctx: OutcomeContext, slot: Slot, job: Job, m: Answer | { type: 'exit'; e: Error }): void {
  let answer: PartAnswer
  if (m.type === 'exit') answer = m
  else {
    // a part never asks for keys (each gets them unless it holds them): if one did, the image fails
    answer = m.type === 'need_keys' ? { type: 'failed', id: m.id, code: 'internal', message: 'a part lacked the keys', clientFault: false, cached: [...slot.cached] } : m
    slot.cached = new Set(answer.cached)
    if (answer.retire) retire(ctx, slot, answer.retire, job)
    if (answer.type === 'failed' && !answer.clientFault && !job.cancelled && !job.timedOut) {
      ctx.log?.error({ code: answer.code, err: answer.message, part: slot.splitPart ?? 0, ...jobIds(job) }, 'pool job part failed')
    }
  }
  const outcome = partAnswered(job, answer)
  if (!outcome) return
  clearTimeout(job.timer)
  if (job.timedOut) return
  // its parts answered cancelled, or finished before they saw the flag
  if (job.cancelled) return job.reject(cancelledError())
  if (!outcome.ok) return job.reject(outcome.e)
  ctx.stats.completed++
  // what one worker alone would have needed, at most: the deadline must hold when the image is not shared
  ctx.deadlines.record(job.model, outcome.result.ms * outcome.result.parts)
  ctx.observer?.evaluated?.({ op: job.op, model: job.model, workerMs: outcome.result.ms })
  job.resolve(outcome.result)
}

/** No further job for this thread: it exits after this answer and is replaced. */
export function retire(ctx: OutcomeContext, slot: Slot, reason: Retirement, job: Job): void {
  slot.retiring = reason
  ctx.stats.retired[reason]++
  ctx.log?.warn({ reason, threadId: slot.worker.threadId, ...jobIds(job) }, 'pool worker retiring')
}
