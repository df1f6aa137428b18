/**
 * Keys loaded ahead for shared images. The worker that validates a session's keys keeps them
 * loaded; an image shared by idle workers (shared-image.ts) needs them in every part, so without
 * this the session's first image would wait while the other parts load them, and the first
 * answer, the one a visitor waits for, would be the slowest. Once keys are valid, each other idle
 * worker that serves the model loads them while nothing is queued, as a job of its own: the pool
 * counts that worker busy meanwhile, so a request arriving then runs unshared rather than waiting
 * for the load. A busy pool loads nothing ahead (no worker is idle, or the queue is not empty).
 */
import type { PoolOptions } from './pool-options'
import type { Job } from './job'
import { serves, type Slot } from './worker-slot'

/** Idle workers serving `model` that lack `session`'s keys. */
export function warmTargets(slots: Iterable<Slot>, session: string, model: string): Slot[] {
  return [...slots].filter((s) => serves(s, model) && !s.job && !s.cached.has(session))
}

/** A job that only loads `session`'s keys into the worker that takes it (a validation nobody waits for): a failure is logged. */
export function warmJob(id: number, session: string, model: string, keys: Uint8Array, log: PoolOptions['log']): Job {
  const failed = (e: Error) => log?.warn({ err: e.message, model }, 'pool worker failed to load keys ahead')
  return { id, op: 'validate', ahead: true, session, model, keys, enqueuedAt: performance.now(), passedOver: 0, resolve: () => {}, reject: failed }
}
