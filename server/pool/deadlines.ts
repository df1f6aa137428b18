/**
 * How long a worker may evaluate a job, and how long it may then ignore a raised cancel flag.
 *
 * The rule, per model:
 * - the evaluation deadline starts when a worker takes the job (never while it waits in the
 *   queue) and lasts the larger of the configured floor (REQUEST_TIMEOUT_MS) and
 *   DEADLINE_FACTOR times the median of the model's recent measured evaluation times on this
 *   pool's workers, so a model's deadline grows with what it actually costs here;
 * - past the deadline the job's cancel flag is raised and the client is answered 504 timeout;
 *   the worker stops at its next check and takes the next job, its models and keys intact;
 * - only a worker that has still not answered one grace period later (as long as the deadline
 *   again) is stuck: it is terminated and replaced;
 * - a classification cut off at its deadline counts as having taken that long (a lower bound),
 *   so a model whose first images meet the floor gets a longer deadline as they do.
 */
import { RecentSamples } from '../metrics/recent-samples'

/** the deadline is this many times a model's median evaluation time (when above the floor) */
export const DEADLINE_FACTOR = 4
/** evaluation times the median is taken over, per model */
const WINDOW = 50

export class Deadlines {
  private readonly times = new Map<string, RecentSamples>()

  constructor(private readonly floorMs: number) {}

  /** A job of `model` answered after `ms` of its worker's time. */
  record(model: string, ms: number): void {
    let samples = this.times.get(model)
    if (!samples) this.times.set(model, (samples = new RecentSamples(WINDOW)))
    samples.push(ms)
  }

  /** A job of `model` was cut off after `ms`: it needed at least that long. */
  cutOff(model: string, ms: number): void {
    this.record(model, ms)
  }

  /** From a worker taking a job of `model` to its cooperative cancel. */
  evaluationMs(model: string): number {
    const median = this.times.get(model)?.median()
    return median === undefined ? this.floorMs : Math.max(this.floorMs, Math.ceil(DEADLINE_FACTOR * median))
  }

  /** From the cooperative cancel to terminating a worker that has not answered. */
  graceMs(model: string): number {
    return this.evaluationMs(model)
  }
}
