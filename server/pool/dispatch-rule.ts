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
  /** who asked (the session's owner address); jobs without one count as one client */
  client?: string
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

const clientOf = (j: QueuedJob) => j.client ?? ''

/**
 * The queued jobs an idle worker may take, shared between clients: those of one client, the one
 * with the fewest workers busy for it now and, among those, the one served longest ago. Clients
 * take turns, so a newcomer waits for at most one job of a client with a backlog, not for the
 * whole backlog. Why: docs/decisions/per-client-queue-share.md.
 */
export function fairShare<J extends QueuedJob>(queue: J[], busyFor: (client: string) => number, turns: ClientTurns): J[] {
  let chosen: string | undefined
  let leastBusy = Infinity
  let longestAgo = Infinity
  for (const c of new Set(queue.map(clientOf))) {
    const busy = busyFor(c)
    const last = turns.lastServed(c)
    if (busy < leastBusy || (busy === leastBusy && last < longestAgo)) [chosen, leastBusy, longestAgo] = [c, busy, last]
  }
  return queue.filter((j) => clientOf(j) === chosen)
}

/** When each client last had a job dispatched (a counter, not a clock); forgets the longest unserved beyond `max` clients. */
export class ClientTurns {
  private readonly last = new Map<string, number>()
  private tick = 0
  constructor(private readonly max = 10_000) {}

  served(client: string | undefined): void {
    const c = client ?? ''
    this.last.delete(c)
    this.last.set(c, ++this.tick)
    if (this.last.size > this.max) this.last.delete(this.last.keys().next().value!)
  }

  lastServed(client: string): number {
    return this.last.get(client) ?? 0
  }
}

/**
 * When the queue is full: the index of the queued job a newcomer from `client` displaces, the
 * newest job of the client holding the most places, if that client holds at least two more than
 * `client` (so that the two never swap places back and forth); -1 when the newcomer is refused.
 * A client within its share of the queue is never displaced by another.
 */
export function displacedBy(queue: QueuedJob[], client: string): number {
  const held = new Map<string, number>()
  for (const j of queue) held.set(clientOf(j), (held.get(clientOf(j)) ?? 0) + 1)
  let most = ''
  let count = -1
  for (const [c, n] of held) if (n > count) [most, count] = [c, n]
  if (count < (held.get(client) ?? 0) + 2) return -1
  for (let i = queue.length - 1; i >= 0; i--) if (clientOf(queue[i]) === most) return i
  return -1
}
