/**
 * The per-client query budget (MAX_QUERIES_PER_CLIENT) for this process or for every replica:
 * embedded mode keeps query-budget.ts's rolling window in memory; distributed mode counts in
 * Redis with rate-limiter-flexible, so a client's classifications through every replica draw
 * from one budget. The shared count is a window that starts with the client's first
 * classification and lasts QUERY_WINDOW_SECONDS; a classification that produced no answer is
 * given back (reward).
 */
import type { FastifyInstance } from 'fastify'
import { RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { ServerConfig } from '../config'
import { connection, failFast } from '../distributed/redis-keys'
import { HttpError } from '../http/http-error'
import { QueryBudget, type Reserve } from './query-budget'

export interface ClientQueryBudget {
  reserve(client: string): Reserve | Promise<Reserve>
  refund(client: string, slot: number): void
}

export class SharedQueryBudget implements ClientQueryBudget {
  constructor(private readonly limiter: RateLimiterAbstract) {}

  async reserve(client: string): Promise<Reserve> {
    try {
      await this.limiter.consume(client, 1)
      return { ok: true, slot: 0 }
    } catch (e) {
      if (e instanceof RateLimiterRes) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(e.msBeforeNext / 1000)) }
      throw new HttpError(503, 'store_unavailable', 'the session store is unreachable: retry shortly', { 'retry-after': '2' })
    }
  }

  refund(client: string): void {
    void this.limiter.reward(client, 1).catch(() => {})
  }
}

type BudgetConfig = Pick<ServerConfig, 'maxQueriesPerClient' | 'queryWindowSeconds' | 'rateLimitClients' | 'redisUrl'>

/** The per-client budget `config` asks for, undefined when it is off; a Redis connection is closed with `app`. */
export function clientQueryBudget(app: FastifyInstance, config: BudgetConfig, now: () => number): ClientQueryBudget | undefined {
  if (config.maxQueriesPerClient <= 0) return undefined
  if (!config.redisUrl) {
    return new QueryBudget({ max: config.maxQueriesPerClient, windowMs: config.queryWindowSeconds * 1000, maxClients: config.rateLimitClients, now })
  }
  const redis = connection(config.redisUrl, failFast)
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect())
  })
  return new SharedQueryBudget(new RateLimiterRedis({ storeClient: redis, keyPrefix: 'bf:queries', points: config.maxQueriesPerClient, duration: config.queryWindowSeconds }))
}
