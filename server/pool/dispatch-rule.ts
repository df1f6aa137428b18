/**
 * Which queued job an idle worker takes: loading a session's keys into a SEAL instance costs most
 * of a classification, so a worker prefers a job whose keys it already holds (affinity), within a
 * bound that keeps every job's wait finite. Why a rule of its own rather than a library pool's
 * balancer: docs/decisions/pool-not-piscina.md.
 */

/**
 * How many later jobs may go ahead of a job because their worker holds their keys, counted per
 * job: a job waits at most for the jobs ahead of it when it came plus this many, at the price
 * of key loads. Why per job: docs/decisions/dispatch-fairness.md.
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
