/**
 * Distributed mode's back end for an API replica (server/app.ts picks it when REDIS_URL is
 * set): sessions in Redis, evaluation through the BullMQ queue. The replica keeps no session
 * state of its own, so a session made through one replica classifies through any other.
 */
import type { Evaluation, Sessions } from '../backend/contract'
import type { ServerConfig } from '../config'
import type { Metrics } from '../metrics/metrics'
import { JobMac } from './job-mac'
import { jobTiming } from './job-timing'
import { QueueEvaluation } from './queue-evaluation'
import { sessionLimits } from '../sessions/session-store'
import { RedisSessionStore } from './redis-sessions'

export function distributedBackend(
  config: Omit<ServerConfig, 'port' | 'host'> & { redisUrl: string },
  models: string[],
  log?: { warn(o: object, m: string): void },
  metrics?: Metrics,
): { evaluation: Evaluation; sessions: Sessions } {
  // without the shared key a job could not be told from one planted in Redis: no distributed mode
  if (!config.jobMacKey) throw new Error('distributed mode (REDIS_URL) needs JOB_MAC_KEY, a secret shared by every API replica and evaluator (openssl rand -hex 32)')
  const jobMac = new JobMac(config.jobMacKey)
  const sessions = new RedisSessionStore({
    redisUrl: config.redisUrl,
    ...sessionLimits(config),
    jobMac,
  })
  // ready (GET /readyz) once both the queue and the session store reach Redis
  const evaluation = new QueueEvaluation({
    redisUrl: config.redisUrl,
    models,
    deadlineFloorMs: config.requestTimeoutMs,
    queueWaitMs: config.queueWaitMs,
    queueMax: config.queueMax,
    timing: jobTiming(config.evaluatorLockMs),
    jobMac,
    log,
    alsoReady: sessions.ready,
    metrics,
  })
  return { evaluation, sessions }
}
