/**
 * Names in Redis shared by the API replicas and the evaluators, the queue's name, and how a
 * Redis failure reaches a client. One Redis (not Cluster): the session scripts touch keys
 * they compute themselves.
 */
import { readFileSync } from 'node:fs'
import { QueueKeys } from 'bullmq'
import { Redis, type RedisOptions } from 'ioredis'
import { HttpError } from '../http/http-error'

export const QUEUE_NAME = 'blindfold-eval'

/** BullMQ's keys of the shared queue that this project's scripts read (Queue.keys). */
export interface QueueJobKeys {
  /** the jobs waiting without a priority */
  wait: string
  /** the jobs waiting by priority */
  prioritized: string
  /** the prefix of a job's hash, BullMQ's '' key */
  '': string
}

const bullKeys = new QueueKeys().getKeys(QUEUE_NAME)
export const queueJobKeys: QueueJobKeys = { wait: bullKeys.wait, prioritized: bullKeys.prioritized, '': bullKeys[''] }

const P = 'bf:'

export const redisKeys = {
  /** a session's evaluation-key container, binary, PEXPIRE = the session's TTL */
  keys: (session: string) => `${P}keys:${session}`,
  /** keys uploaded but not yet validated by an evaluator (short TTL) */
  pending: (session: string) => `${P}pending:${session}`,
  /**
   * a classification's request container, binary: written by the API before the job is queued,
   * deleted by it when the POST ends (answered, failed, cancelled, timed out), PEXPIRE past the
   * request timeout for a replica that died meanwhile. Not in the job's data: BullMQ keeps a
   * finished job's data for a minute (removeOnComplete), which for CIFAR-10's 2.5 MB requests
   * would hold gigabytes of base64 in Redis under load.
   */
  request: (jobId: string) => `${P}request:${jobId}`,
  /**
   * a classification's response container, binary, for a minute: the job's return value carries
   * only timings, so BullMQ's event stream (which keeps each return value) stays small
   */
  result: (jobId: string) => `${P}result:${jobId}`,
  /**
   * places in the shared queue held by admissions on their way in (a sorted set of job ids by
   * Redis time), counted with the waiting jobs against QUEUE_MAX (queue-evaluation.ts admit)
   */
  admitting: `${P}admitting`,
  /**
   * a client's jobs waiting or running (a sorted set of job ids by lapse time), whose count is a
   * new job's BullMQ priority (queue-admission.ts; the scripts there build this name themselves)
   */
  inFlight: (client: string) => `${P}inflight:${client}`,
  /** the clients with jobs in flight (a sorted set by their latest lapse time), for displacement */
  inFlightClients: `${P}inflight-clients`,
  /**
   * the evaluators sharing the queue (a sorted set of evaluator ids by lapse time) and their
   * slots (a hash), for the evaluator kept free for other clients (evaluator-reserve.ts)
   */
  evaluators: `${P}evaluators`,
  evaluatorSlots: `${P}evaluator-slots`,
  /** a client's classifications running on evaluators (a sorted set of job ids by lapse time; evaluator-reserve.ts builds this name itself) */
  running: (client: string) => `${P}running:${client}`,
  /** the last two clients served by an evaluator (a sorted set of clients by Redis time, expiring with the window) */
  served: `${P}served`,
  /** a waiting job whose place a newcomer took: its replica answers 503 overloaded (value: a MAC over the job id) */
  displaced: (jobId: string) => `${P}displaced:${jobId}`,
  /** a classification the API asked to stop; the evaluator running it polls this */
  cancel: (jobId: string) => `${P}cancel:${jobId}`,
}
/** the prefix the session scripts (redis-sessions.ts) build their own names from */
export const SESSION_PREFIX = P

/** Redis unreachable (down, restarting): the client may retry shortly, nothing was lost on its side. */
export function storeUnavailable(): HttpError {
  return new HttpError(503, 'store_unavailable', 'the session store is unreachable: retry shortly', { 'retry-after': '2' })
}

/** Rethrows HttpErrors; anything else from a Redis call becomes 503 store_unavailable. */
export function mapRedisError(e: unknown): never {
  if (e instanceof HttpError) throw e
  throw storeUnavailable()
}

/**
 * ioredis options for request-path connections: no offline queue and one retry, so that while
 * Redis is down a request fails at once (503 + Retry-After) instead of hanging; the client
 * itself reconnects in the background.
 */
export const failFast = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 } as const

/**
 * TLS for a `rediss://` URL: the CA of REDIS_TLS_CA (a PEM file) when set, else the system's.
 * A user and password ride in the URL (`rediss://user:password@host:port`, AUTH with an ACL user).
 */
function tlsOf(url: string): Pick<RedisOptions, 'tls'> {
  if (!/^rediss:/i.test(url)) return {}
  const ca = process.env.REDIS_TLS_CA
  return ca ? { tls: { ca: readFileSync(ca) } } : {}
}

/**
 * A connection whose errors are reported per command (or, for BullMQ's blocking connections,
 * retried for ever): its 'error' events while Redis is down are expected, not crashes.
 */
export function connection(url: string, options: RedisOptions, onError?: (e: Error) => void): Redis {
  const redis = new Redis(url, { ...tlsOf(url), ...options })
  redis.on('error', (e: Error) => onError?.(e))
  return redis
}

/**
 * Connects once and PINGs, without retrying: a process in distributed mode calls it at start, so
 * a wrong password, an unknown user or a TLS failure stops it with a clear message instead of
 * leaving it retrying, never ready.
 */
export async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, { ...tlsOf(url), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5000 })
  // the reason (an AUTH refusal) arrives as an 'error' event; connect() then only says the connection closed
  let reason: string | undefined
  redis.on('error', (e: Error) => (reason ??= e.message))
  try {
    await redis.connect()
    await redis.ping()
  } catch (e) {
    const m = reason ?? (e as Error).message
    const hint = /WRONGPASS|NOAUTH|invalid username-password/i.test(m) ? ' (Redis refused the user or password given in REDIS_URL, redis://user:password@host:port)' : ''
    throw new Error(`REDIS_URL: Redis cannot be used: ${m}${hint}`)
  } finally {
    redis.disconnect()
  }
}
