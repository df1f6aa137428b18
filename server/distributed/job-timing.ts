/**
 * How long a distributed job may take, from the lock an evaluator holds on it to how long the
 * API replica that enqueued it waits. One rule shared by both sides, so that a job whose
 * evaluator dies mid-image is run again and answered within its client's request:
 *
 * - An evaluator holds BullMQ's lock on each running job for `lockMs` and renews it every
 *   quarter of that (its main thread only waits on the worker threads, so renewals are not
 *   starved by evaluation). Evaluators check for stalled jobs every half lock.
 * - BullMQ's stalled check marks the running jobs on one pass and moves those still without a
 *   lock back to the front of the queue on a later pass, so a dead evaluator's job is back in
 *   the queue at most `takeoverMs` = lock + one check interval after its last renewal, provided
 *   another evaluator is running.
 * - The API replica waits for a worker at most `queueWaitMs` (as the embedded pool does), then,
 *   from the job's start, its evaluation deadline (the embedded pool's rule of
 *   server/pool/deadlines.ts: the floor or a multiple of the model's measured time) per run,
 *   with a takeover between runs. The evaluator's own pool cancels at the same deadline and
 *   answers 504 first; the replica's bound is the backstop for an evaluator that never answers.
 */
export interface JobTiming {
  lockMs: number
  lockRenewMs: number
  stalledIntervalMs: number
  /** from an evaluator's death to its job waiting at the front of the queue again, at most */
  takeoverMs: number
}

export function jobTiming(lockMs: number): JobTiming {
  const stalledIntervalMs = Math.ceil(lockMs / 2)
  return { lockMs, lockRenewMs: Math.ceil(lockMs / 4), stalledIntervalMs, takeoverMs: lockMs + stalledIntervalMs }
}

/**
 * How long a replica waits for a job that has started: `attempts` runs of `deadlineMs` each,
 * with a takeover before each rerun and a second of slack for the answer to travel.
 */
export function runningWaitMs(deadlineMs: number, attempts: number, timing: JobTiming): number {
  return attempts * deadlineMs + (attempts - 1) * timing.takeoverMs + 1000
}
