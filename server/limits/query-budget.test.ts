import { describe, expect, it } from 'vitest'
import { QueryBudget } from './query-budget'

function clock() {
  let t = 1_000_000
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('QueryBudget', () => {
  it('allows max queries in any rolling window and says when the oldest leaves it', () => {
    const c = clock()
    const budget = new QueryBudget({ max: 3, windowMs: 20_000, maxClients: 10, now: c.now })
    expect(budget.reserve('a').ok).toBe(true)
    c.advance(5_000)
    expect(budget.reserve('a').ok).toBe(true)
    expect(budget.reserve('a').ok).toBe(true)
    const refused = budget.reserve('a')
    expect(refused.ok).toBe(false)
    if (refused.ok) return
    // the first query leaves the window 20-21 s after it was made, i.e. 15-16 s from now
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(15)
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(16)
    expect(budget.reserve('b').ok).toBe(true) // per client
    c.advance(14_000)
    expect(budget.reserve('a').ok).toBe(false) // still inside the window
    c.advance(refused.retryAfterSeconds * 1000 - 14_000)
    expect(budget.reserve('a').ok).toBe(true)
    expect(budget.reserve('a').ok).toBe(false)
  })

  it('never lets more than max through in any window, whatever the timing', () => {
    const c = clock()
    const windowMs = 10_000
    const budget = new QueryBudget({ max: 5, windowMs, maxClients: 10, now: c.now })
    const granted: number[] = []
    for (let i = 0; i < 2000; i++) {
      c.advance(37)
      if (budget.reserve('a').ok) granted.push(c.now())
    }
    for (let i = 5; i < granted.length; i++) expect(granted[i] - granted[i - 5]).toBeGreaterThanOrEqual(windowMs)
    expect(granted.length).toBeGreaterThan(5)
  })

  it('refunds a reservation that got no answer', () => {
    const budget = new QueryBudget({ max: 1, windowMs: 60_000, maxClients: 10, now: () => 5 })
    const r = budget.reserve('a')
    expect(r.ok).toBe(true)
    expect(budget.reserve('a').ok).toBe(false)
    if (r.ok) budget.refund('a', r.slot)
    expect(budget.reserve('a').ok).toBe(true)
  })
})
