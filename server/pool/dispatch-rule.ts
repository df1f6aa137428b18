/**
 * Which queued job an idle worker takes: loading a session's keys into a SEAL instance costs most
 * of a classification, so a worker prefers a job whose keys it already holds (affinity), within a
 * bound that keeps every job's wait finite. Shared by WorkerPool.dispatch() and
 * scripts/measure-piscina.ts (which compares this rule with piscina's balancer).
 */

/**
 * How many later jobs may go ahead of a job because their worker holds their keys. Unbounded, the
 * sessions whose keys no worker held waited behind those that kept their workers busy: p50 1.5 s
 * but p95 138 s with 64 sessions on one worker (bench:load, 2026-12-03); bounding only the
 * oldest job's overtakers changed nothing, as every job behind it was overtaken again once it
 * became the oldest. Bounded per job, a job waits at most for the jobs ahead of it when it came
 * plus this many, at the price of key loads (a fraction of a second each for N = 8192 models).
 */
export const MAX_PASSED_OVER = 8

export interface QueuedJob {
  session: string
  /** later jobs taken ahead of this one so far */
  passedOver: number
}

/**
 * The index in `queue` (oldest first) of the job a worker takes: the oldest whose keys it `holds`,
 * unless that would overtake a job already overtaken MAX_PASSED_OVER times; else the oldest job,
 * unless another idle worker holds its keys (-1: leave it to that one). Counts the overtaking.
 */
export function takeFor(queue: QueuedJob[], holds: (session: string) => boolean, anotherIdleHolds: (session: string) => boolean): number {
  let at = queue.findIndex((j) => holds(j.session))
  if (at > 0) {
    const ahead = queue.slice(0, at)
    if (ahead.some((j) => j.passedOver >= MAX_PASSED_OVER)) at = -1
    else for (const j of ahead) j.passedOver++
  }
  if (at >= 0) return at
  return anotherIdleHolds(queue[0].session) ? -1 : 0
}
