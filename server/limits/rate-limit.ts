/**
 * The onRequest hook that charges every request to its client's token bucket (cost-limiter.ts)
 * before anything else is done for it: before its body is read, before routing decides it is a
 * 404. Costs come from the route's `config.cost` (route-config.ts).
 */
import type { FastifyRequest } from 'fastify'
import { clientOf } from '../http/client-id'
import type { CostLimit } from './cost-limiter'
import { HttpError } from '../http/http-error'
import type { RouteCost } from '../http/route-config'

export interface RateLimitOptions {
  limiter: CostLimit
  /** points per cost class; a request without a class costs 1 */
  costs: Record<RouteCost, number>
  /** for the 429 message */
  capacity: number
  windowSeconds: number
}

export function rateLimitHook({ limiter, costs, capacity, windowSeconds }: RateLimitOptions) {
  return async (request: FastifyRequest): Promise<void> => {
    const kind = request.routeOptions.config?.cost
    const cost = kind ? costs[kind] : 1
    if (cost === 0) return
    const taken = await limiter.take(clientOf(request), cost)
    if (!taken.ok) {
      throw new HttpError(
        429,
        'rate_limited',
        `rate limit of ${capacity} points per ${windowSeconds} s exceeded (this request costs ${cost}); retry in ${taken.retryAfterSeconds} s`,
        { 'retry-after': String(taken.retryAfterSeconds) },
      )
    }
  }
}
