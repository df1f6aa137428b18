/**
 * Rate limiting weighted by cost: one token bucket per client. A bucket holds up to `capacity`
 * points and refills at `capacity` per window; a request takes its cost (a GET 1, a key upload
 * or a classification many). Everything a client does draws from the same bucket, so the limit is
 * on the work it causes rather than on its number of requests.
 *
 * Why not @fastify/rate-limit: it counts requests (every one costs 1) in per-route stores, and
 * it hooks routes as they are declared, so the not-found handler stayed outside it. This is a
 * few lines in one onRequest hook that covers every route, the 404 handler included.
 */
import { BoundedLru } from './bounded-lru'

export interface CostLimiterOptions {
  /** points a full bucket holds (the burst) */
  capacity: number
  /** time for an empty bucket to refill completely */
  windowMs: number
  /** clients remembered; the least recently seen are forgotten (and start with a full bucket) */
  maxClients: number
  now?: () => number
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number }

/** A rate limit by cost: this process's buckets (CostLimiter) or the replicas' shared count (shared-cost-limiter.ts). */
export interface CostLimit {
  take(client: string, cost: number): Take | Promise<Take>
}

interface Bucket {
  tokens: number
  at: number
}

export class CostLimiter implements CostLimit {
  private readonly buckets: BoundedLru<string, Bucket>
  private readonly now: () => number
  private readonly perMs: number

  constructor(private readonly options: CostLimiterOptions) {
    this.buckets = new BoundedLru(options.maxClients)
    this.now = options.now ?? Date.now
    this.perMs = options.capacity / options.windowMs
  }

  get trackedClients(): number {
    return this.buckets.size
  }

  /** Takes `cost` points from the client's bucket, or says when enough will be there. */
  take(client: string, cost: number): Take {
    const now = this.now()
    const { capacity } = this.options
    // a cost above the capacity could never be paid: it takes a full bucket instead
    const need = Math.min(cost, capacity)
    const b = this.buckets.getOrCreate(client, () => ({ tokens: capacity, at: now }))
    b.tokens = Math.min(capacity, b.tokens + Math.max(0, now - b.at) * this.perMs)
    b.at = now
    if (b.tokens >= need) {
      b.tokens -= need
      return { ok: true }
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((need - b.tokens) / this.perMs / 1000)) }
  }
}
