/**
 * Distributed mode's back end for an API replica (server/app.ts picks it when REDIS_URL is
 * set): sessions in Redis, evaluation through the BullMQ queue. The replica keeps no session
 * state of its own, so a session made through one replica classifies through any other.
 */
import type { Evaluation, Sessions } from '../evaluation'
import type { ServerConfig } from '../config'
import type { Metrics } from '../metrics'
import { QueueEvaluation } from './queue-evaluation'
import { RedisSessionStore } from './redis-sessions'

export function distributedBackend(
  config: Omit<ServerConfig, 'port' | 'host'> & { redisUrl: string },
  models: string[],
  log?: { warn(o: object, m: string): void },
  metrics?: Metrics,
): { evaluation: Evaluation; sessions: Sessions } {
  const sessions = new RedisSessionStore({
    redisUrl: config.redisUrl,
    ttlMs: config.sessionTtlSeconds * 1000,
    maxSessions: config.sessionMax,
    maxBytes: config.sessionMaxBytes,
    perClientSessions: config.sessionsPerClient,
    perClientBytes: config.sessionBytesPerClient,
  })
  // ready (GET /readyz) once both the queue and the session store reach Redis
  const evaluation = new QueueEvaluation({
    redisUrl: config.redisUrl,
    models,
    timeoutMs: config.requestTimeoutMs,
    log,
    alsoReady: sessions.ready,
    metrics,
  })
  return { evaluation, sessions }
}
