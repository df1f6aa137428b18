import { describe, expect, it } from 'vitest'
import { ClientTurns, displacedBy, fairShare, MAX_PASSED_OVER, takeFor, type QueuedJob } from './dispatch-rule'

/** One worker taking jobs until the queue is empty; it holds `held`'s keys plus each session it ran (LRU of `cache`). */
function drain(sessions: string[], held: string[], cache: number): string[] {
  const queue: (QueuedJob & { n: number })[] = sessions.map((session, n) => ({ session, n, passedOver: 0 }))
  let cached = [...held]
  const order: string[] = []
  while (queue.length > 0) {
    const at = takeFor(queue, (s) => cached.includes(s), () => false)
    const [job] = queue.splice(at, 1)
    order.push(`${job.session}${job.n}`)
    cached = [...cached.filter((s) => s !== job.session), job.session].slice(-cache)
  }
  return order
}

describe('dispatch rule', () => {
  it('takes a job whose keys the worker holds before older ones', () => {
    expect(drain(['b', 'a', 'a'], ['a'], 2).slice(0, 2)).toEqual(['a1', 'a2'])
  })

  it('lets no job be overtaken more than MAX_PASSED_OVER times, however long the queue', () => {
    const later = 3 * MAX_PASSED_OVER
    const sessions = ['b', 'c', ...Array.from({ length: later }, () => 'a')]
    // the worker keeps A's keys while it runs B's and C's jobs (cache of 3)
    const order = drain(sessions, ['a'], 3)
    for (const [label, n] of [['b', 0], ['c', 1]] as const) {
      const overtakers = order.slice(0, order.indexOf(`${label}${n}`)).filter((x) => x.startsWith('a'))
      expect(overtakers.length).toBeLessThanOrEqual(MAX_PASSED_OVER)
    }
    expect(order.indexOf('b0')).toBe(MAX_PASSED_OVER)
    expect(order.indexOf('c1')).toBe(MAX_PASSED_OVER + 1)
  })

  it('leaves the oldest job to another idle worker that holds its keys', () => {
    const queue: QueuedJob[] = [{ session: 'x', passedOver: 0 }]
    expect(takeFor(queue, () => false, (s) => s === 'x')).toBe(-1)
    expect(takeFor(queue, () => false, () => false)).toBe(0)
  })
})

describe('clients in turn', () => {
  const job = (client: string, session = client): QueuedJob => ({ session, client, passedOver: 0 })

  it('offers the jobs of the client with the fewest busy workers, then the one served longest ago', () => {
    const queue = [job('a'), job('a'), job('b'), job('c')]
    const turns = new ClientTurns()
    const busy = new Map([['a', 0], ['b', 1], ['c', 0]])
    turns.served('c')
    turns.served('a')
    expect(fairShare(queue, (c) => busy.get(c) ?? 0, turns).map((j) => j.client)).toEqual(['c'])
    turns.served('c')
    expect(fairShare(queue, (c) => busy.get(c) ?? 0, turns).map((j) => j.client)).toEqual(['a', 'a'])
    busy.set('a', 2)
    busy.set('c', 2)
    expect(fairShare(queue, (c) => busy.get(c) ?? 0, turns).map((j) => j.client)).toEqual(['b'])
  })

  it('counts jobs without a client as one client', () => {
    const queue: QueuedJob[] = [{ session: 'x', passedOver: 0 }, { session: 'y', passedOver: 0 }, job('a')]
    const turns = new ClientTurns()
    turns.served('a')
    expect(fairShare(queue, () => 0, turns).map((j) => j.session)).toEqual(['x', 'y'])
  })

  it('forgets the longest unserved client beyond its bound', () => {
    const turns = new ClientTurns(2)
    turns.served('a')
    turns.served('b')
    turns.served('c')
    expect(turns.lastServed('a')).toBe(0)
    expect(turns.lastServed('c')).toBeGreaterThan(turns.lastServed('b'))
  })

  it("displaces the newest job of the client holding most of a full queue, never one within a newcomer's reach", () => {
    const queue = [job('a'), job('b'), job('a'), job('a'), job('b')]
    expect(displacedBy(queue, 'c')).toBe(3)
    expect(displacedBy(queue, 'b')).toBe(-1)
    expect(displacedBy([job('a')], 'c')).toBe(-1)
    expect(displacedBy([job('a'), job('a')], 'c')).toBe(1)
  })
})
