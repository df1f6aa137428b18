// Server configuration from environment variables; every knob has a safe default.
import { availableParallelism } from 'node:os'

export interface ServerConfig {
  port: number
  host: string
  poolSize: number
  /** jobs waiting for a worker beyond those running; more get 503 overloaded */
  queueMax: number
  /** from enqueue to answer; past it the worker is replaced and the client gets 504 */
  requestTimeoutMs: number
  /** LoadedKeys each worker keeps (keys are ~2x their wire size once loaded) */
  workerKeyCache: number
  sessionTtlSeconds: number
  sessionMax: number
  sessionMaxBytes: number
  maxKeysBytes: number
  maxRequestBytes: number
  /** requests per window per client IP; 0 disables rate limiting */
  rateLimitMax: number
  rateLimitWindow: string
  corsOrigin: string | undefined
  logLevel: string
  /** proxies to trust for the client IP (Fastify trustProxy); off unless set */
  trustProxy: boolean
}

export const DEFAULTS: Omit<ServerConfig, 'poolSize'> = {
  port: 8080,
  host: '0.0.0.0',
  queueMax: 32,
  requestTimeoutMs: 30_000,
  workerKeyCache: 8,
  sessionTtlSeconds: 1800,
  sessionMax: 64,
  sessionMaxBytes: 512 * 1024 * 1024,
  maxKeysBytes: 16 * 1024 * 1024,
  maxRequestBytes: 400 * 1024,
  rateLimitMax: 600,
  rateLimitWindow: '1 minute',
  corsOrigin: undefined,
  logLevel: 'info',
  trustProxy: false,
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}=${raw}: expected an integer >= ${min}`)
  return n
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  return {
    port: int(env, 'PORT', DEFAULTS.port),
    host: env.HOST || DEFAULTS.host,
    poolSize: int(env, 'POOL_SIZE', availableParallelism(), 1),
    queueMax: int(env, 'QUEUE_MAX', DEFAULTS.queueMax),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', DEFAULTS.requestTimeoutMs, 1),
    workerKeyCache: int(env, 'WORKER_KEY_CACHE', DEFAULTS.workerKeyCache, 1),
    sessionTtlSeconds: int(env, 'SESSION_TTL_SECONDS', DEFAULTS.sessionTtlSeconds, 1),
    sessionMax: int(env, 'SESSION_MAX', DEFAULTS.sessionMax, 1),
    sessionMaxBytes: int(env, 'SESSION_MAX_BYTES', DEFAULTS.sessionMaxBytes, 1),
    maxKeysBytes: int(env, 'MAX_KEYS_BYTES', DEFAULTS.maxKeysBytes, 1024),
    maxRequestBytes: int(env, 'MAX_REQUEST_BYTES', DEFAULTS.maxRequestBytes, 1024),
    rateLimitMax: int(env, 'RATE_LIMIT_MAX', DEFAULTS.rateLimitMax),
    rateLimitWindow: env.RATE_LIMIT_WINDOW || DEFAULTS.rateLimitWindow,
    corsOrigin: env.CORS_ORIGIN || undefined,
    logLevel: env.LOG_LEVEL || DEFAULTS.logLevel,
    trustProxy: env.TRUST_PROXY === '1' || env.TRUST_PROXY === 'true',
  }
}
