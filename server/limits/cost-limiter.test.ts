import { describe, expect, it } from 'vitest'
import { CostLimiter } from './cost-limiter'

function clock() {
  let t = 1_000_000
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('CostLimiter', () => {
  it('charges by cost: a few expensive requests exhaust what many cheap ones do not', () => {
    const c = clock()
    const limiter = new CostLimiter({ capacity: 100, windowMs: 60_000, maxClients: 10, now: c.now })
    for (let i = 0; i < 90; i++) expect(limiter.take('reader', 1).ok).toBe(true)
    expect(limiter.take('uploader', 50).ok).toBe(true)
    expect(limiter.take('uploader', 50).ok).toBe(true)
    expect(limiter.take('uploader', 50)).toEqual({ ok: false, retryAfterSeconds: 30 }) // 50 points at 100 per minute
    expect(limiter.take('uploader', 1).ok).toBe(false)
    c.advance(30_000)
    expect(limiter.take('uploader', 50).ok).toBe(true)
  })

  it('refills continuously up to the capacity, and a cost above the capacity takes a full bucket', () => {
    const c = clock()
    const limiter = new CostLimiter({ capacity: 10, windowMs: 10_000, maxClients: 10, now: c.now })
    expect(limiter.take('a', 25).ok).toBe(true)
    expect(limiter.take('a', 1)).toEqual({ ok: false, retryAfterSeconds: 1 })
    c.advance(1_000_000)
    for (let i = 0; i < 10; i++) expect(limiter.take('a', 1).ok).toBe(true)
    expect(limiter.take('a', 1).ok).toBe(false)
  })

  it('remembers a bounded number of clients', () => {
    const limiter = new CostLimiter({ capacity: 1, windowMs: 60_000, maxClients: 3, now: () => 0 })
    for (let i = 0; i < 1000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`, 1)
    expect(limiter.trackedClients).toBe(3)
  })
})
