/**
 * The onRequest hooks every request meets, the not-found handler's included, in this order:
 * CORS headers (so a 429 is readable cross-origin), the cost-weighted rate limit, the CORS
 * preflight, and the body policy (no body where none belongs).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ServerConfig } from '../config'
import { refuseUnwantedBodies } from '../http/body-policy'
import { cors } from '../http/security-headers'
import { METRICS_PATH } from '../routes/metrics'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import { connection, failFast } from '../distributed/redis-keys'
import { CostLimiter, type CostLimit } from './cost-limiter'
import { rateLimitHook } from './rate-limit'
import { SharedCostLimiter } from './shared-cost-limiter'

type LimitsConfig = Pick<
  ServerConfig,
  'corsOrigin' | 'rateLimitMax' | 'rateLimitWindowSeconds' | 'rateLimitClients' | 'rateCostKeys' | 'rateCostClassify' | 'redisUrl'
>

/**
 * Embedded mode: this process's token buckets. Distributed mode (REDIS_URL): one count in Redis
 * that every replica charges (shared-cost-limiter.ts), on a connection closed with the app.
 */
function costLimit(app: FastifyInstance, config: LimitsConfig, now: () => number): CostLimit {
  if (!config.redisUrl) {
    return new CostLimiter({ capacity: config.rateLimitMax, windowMs: config.rateLimitWindowSeconds * 1000, maxClients: config.rateLimitClients, now })
  }
  const redis = connection(config.redisUrl, failFast)
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect())
  })
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'bf:rate', points: config.rateLimitMax, duration: config.rateLimitWindowSeconds })
  return new SharedCostLimiter(limiter, config.rateLimitMax)
}

/** metricsAllowed: who may read GET /metrics (an allowed scrape costs no points); undefined: no metrics route */
export function requestLimits(
  app: FastifyInstance,
  config: LimitsConfig,
  now: () => number,
  metricsAllowed: ((request: FastifyRequest) => boolean) | undefined,
): void {
  const corsHooks = cors(config.corsOrigin)
  app.addHook('onRequest', corsHooks.headers)
  if (config.rateLimitMax > 0) {
    const rateLimit = rateLimitHook({
      limiter: costLimit(app, config, now),
      costs: { free: 0, keys: config.rateCostKeys, classify: config.rateCostClassify },
      capacity: config.rateLimitMax,
      windowSeconds: config.rateLimitWindowSeconds,
    })
    // an allowed metrics scrape is free; a refused one costs 1 point, like the unknown route it looks like
    app.addHook('onRequest', async (request) => {
      if (metricsAllowed && request.routeOptions.url === METRICS_PATH && metricsAllowed(request)) return
      await rateLimit(request)
    })
  }
  app.addHook('onRequest', corsHooks.preflight)
  app.addHook('onRequest', refuseUnwantedBodies)
}
