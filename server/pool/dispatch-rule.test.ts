import { describe, expect, it } from 'vitest'
import { MAX_PASSED_OVER, takeFor, type QueuedJob } from './dispatch-rule'

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
