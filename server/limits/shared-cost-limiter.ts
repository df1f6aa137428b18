/**
 * The cost-weighted rate limit shared by every API replica (distributed mode), on
 * rate-limiter-flexible: each client may spend `capacity` points in a window that starts with
 * its first charged request and lasts `windowMs`, counted in Redis with one atomic script per
 * request, so replicas cannot each grant the whole limit. A cost above the capacity takes the
 * whole window's points (it could never be paid otherwise). Any rate-limiter-flexible limiter
 * fits (RateLimiterMemory keeps the same rule in one process).
 */
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { HttpError } from '../http/http-error'
import type { CostLimit, Take } from './cost-limiter'

export class SharedCostLimiter implements CostLimit {
  constructor(
    private readonly limiter: RateLimiterAbstract,
    private readonly capacity: number,
  ) {}

  async take(client: string, cost: number): Promise<Take> {
    try {
      await this.limiter.consume(client, Math.min(cost, this.capacity))
      return { ok: true }
    } catch (e) {
      if (e instanceof RateLimiterRes) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(e.msBeforeNext / 1000)) }
      // the store is unreachable: nothing can be counted, nothing is served (as every other distributed request)
      throw new HttpError(503, 'store_unavailable', 'the session store is unreachable: retry shortly', { 'retry-after': '2' })
    }
  }
}
