import { describe, expect, it } from 'vitest'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import { SharedCostLimiter } from './shared-cost-limiter'

describe('SharedCostLimiter (rate-limiter-flexible behind the CostLimit interface)', () => {
  it('charges costs against the window, says when to retry, keeps clients apart', async () => {
    const limiter = new SharedCostLimiter(new RateLimiterMemory({ points: 100, duration: 60 }), 100)
    expect(await limiter.take('a', 50)).toEqual({ ok: true })
    expect(await limiter.take('a', 40)).toEqual({ ok: true })
    const refused = await limiter.take('a', 20)
    expect(refused.ok).toBe(false)
    if (!refused.ok) {
      expect(refused.retryAfterSeconds).toBeGreaterThan(0)
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60)
    }
    expect(await limiter.take('b', 100)).toEqual({ ok: true })
  })

  it('charges a cost above the capacity as a whole window, never more', async () => {
    const limiter = new SharedCostLimiter(new RateLimiterMemory({ points: 10, duration: 60 }), 10)
    expect(await limiter.take('a', 500)).toEqual({ ok: true })
    expect((await limiter.take('a', 1)).ok).toBe(false)
  })
})
