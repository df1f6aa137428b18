// Server configuration from environment variables; every knob has a safe default.
import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'

export interface ServerConfig {
  port: number
  host: string
  poolSize: number
  /** jobs waiting for a worker beyond those running; more get 503 overloaded */
  queueMax: number
  /**
   * The floor of every model's evaluation deadline, counted from a worker taking the job (not
   * from enqueue). A model's deadline is the larger of this and a multiple of its measured
   * median evaluation time (server/pool/deadlines.ts). Past it the job is cancelled at its
   * worker's next check and the client gets 504; the worker is replaced only if it has not
   * stopped after as long again. Distributed mode: the evaluators' pools apply it, and an API
   * replica waits for a started job as long as server/distributed/job-timing.ts says.
   */
  requestTimeoutMs: number
  /** longest a job waits in the pool's queue for a worker; past it 504, and no worker is touched */
  queueWaitMs: number
  /** LoadedKeys each worker keeps (keys are ~2x their wire size once loaded) */
  workerKeyCache: number
  /**
   * WASM heap (SEAL's memory) a worker may reach before it is retired after its job, since a WASM
   * heap never shrinks; 0 = the heap its models took to load plus 1 GiB
   */
  workerHeapLimitMb: number
  sessionTtlSeconds: number
  /** sessions kept in all, a backstop: the store is sized by sessionMaxBytes (server/sessions/session-store.ts) */
  sessionMax: number
  /** key bytes kept in all; when full, a new session replaces an idle one or one of a client over its share, else 503 sessions_full */
  sessionMaxBytes: number
  /** a session unused this long may make room for another client's when the store is full */
  sessionIdleSeconds: number
  /** sessions one client may hold; its own least recently used one makes room for a new one */
  sessionsPerClient: number
  /** key bytes one client may hold, same rule */
  sessionBytesPerClient: number
  maxKeysBytes: number
  maxRequestBytes: number
  /** rate-limit points per window per client (token bucket: burst = this, refill = this per window); 0 disables */
  rateLimitMax: number
  rateLimitWindowSeconds: number
  /** points a key upload / a classification costs; any other request costs 1 (health probes 0) */
  rateCostKeys: number
  rateCostClassify: number
  /** clients whose buckets and query windows are remembered (LRU), so many addresses cannot exhaust memory */
  rateLimitClients: number
  /** classifications one evaluation-key set may answer; 0 = unlimited */
  maxQueriesPerSession: number
  /** classifications one client may get per rolling QUERY_WINDOW_SECONDS, whatever its sessions; 0 = unlimited */
  maxQueriesPerClient: number
  queryWindowSeconds: number
  /** standard deviation of Gaussian noise the workers add to the encrypted logits; 0 = none */
  logitNoiseStd: number
  /** open connections in all (server.maxConnections); Node closes any beyond at once */
  connectionsMax: number
  /** open connections from one socket address (IPv6 by /64; trusted proxies exempt); more are answered 503 and closed */
  connectionsPerClient: number
  /** an idle keep-alive connection is closed after this long */
  keepAliveTimeoutMs: number
  /** a connection must send complete request headers within this long, or it is closed */
  headersTimeoutMs: number
  corsOrigin: string | undefined
  logLevel: string
  /**
   * Which proxies may set the client address through X-Forwarded-For (Fastify trustProxy):
   * false = none, a string = their addresses/CIDRs, true = every hop (the client can then pick its own address)
   */
  trustProxy: boolean | string
  /**
   * Who may read GET /metrics besides loopback clients: addresses and CIDRs (matched against
   * request.ip, so TRUST_PROXY applies); false = no metrics route at all (METRICS_ALLOW=none)
   */
  metricsAllow: string[] | false
  /**
   * 'auto': an image of an N = 16384 model (CIFAR-10, seconds an image) is shared by every idle
   * worker when more than one is idle and nothing waits; 'off': one worker an image, always
   */
  splitImages: 'auto' | 'off'
  /**
   * REDIS_URL: distributed mode (server/distributed/): sessions in Redis, evaluation by
   * `npm run evaluator` processes through a BullMQ queue; unset = embedded (in-process pool)
   */
  redisUrl?: string
  /**
   * Distributed mode: BullMQ's job lock on an evaluator, renewed while the job runs; a job whose
   * evaluator died is put back in the queue within about 1.5 times this (server/distributed/job-timing.ts).
   * API replicas and evaluators must agree on it: the replicas' wait covers such a takeover.
   */
  evaluatorLockMs: number
  /**
   * Distributed mode: the secret shared by API replicas and evaluators that binds each job to its
   * request and each result to its job (server/distributed/job-mac.ts); required with REDIS_URL
   */
  jobMacKey?: string
}

export const DEFAULTS: ServerConfig = {
  port: 8080,
  host: '0.0.0.0',
  // an app built in code (buildApp in tests and embeddings) takes two workers: enough to serve two
  // clients at once and to share an image, without one thread per core for every app a test
  // builds; the server's own configuration (configFromEnv) takes one worker per core
  poolSize: 2,
  queueMax: 32,
  requestTimeoutMs: 30_000,
  // as long as the deadline floor: a job waits at most about as long for a worker as it may run
  queueWaitMs: 30_000,
  workerKeyCache: 8,
  workerHeapLimitMb: 0,
  sessionTtlSeconds: 1800,
  sessionMax: 4096,
  sessionMaxBytes: 512 * 1024 * 1024,
  sessionIdleSeconds: 300,
  sessionsPerClient: 4,
  sessionBytesPerClient: 64 * 1024 * 1024,
  maxKeysBytes: 16 * 1024 * 1024,
  maxRequestBytes: 400 * 1024,
  rateLimitMax: 1200,
  rateLimitWindowSeconds: 60,
  rateCostKeys: 50,
  rateCostClassify: 10,
  rateLimitClients: 10_000,
  maxQueriesPerSession: 0,
  maxQueriesPerClient: 0,
  queryWindowSeconds: 86_400,
  logitNoiseStd: 0,
  connectionsMax: 2048,
  connectionsPerClient: 32,
  keepAliveTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  corsOrigin: undefined,
  logLevel: 'info',
  trustProxy: false,
  metricsAllow: [],
  splitImages: 'auto',
  evaluatorLockMs: 10_000,
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}=${raw}: expected an integer >= ${min}`)
  return n
}

/** 0 (automatic) or an absolute bound of at least 64 MB */
function heapLimit(env: NodeJS.ProcessEnv): number {
  const mb = int(env, 'WORKER_HEAP_LIMIT_MB', DEFAULTS.workerHeapLimitMb)
  if (mb !== 0 && mb < 64) throw new Error(`WORKER_HEAP_LIMIT_MB=${mb}: expected 0 (automatic) or an integer >= 64`)
  return mb
}

function splitImages(raw: string | undefined): 'auto' | 'off' {
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto'
  if (raw === 'off') return 'off'
  throw new Error(`SPLIT_IMAGES=${raw.slice(0, 40)}: expected auto or off`)
}

function nonNegative(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw}: expected a number >= 0`)
  return n
}

function trustProxy(raw: string | undefined): boolean | string {
  if (raw === undefined || raw === '' || raw === '0' || raw === 'false') return false
  if (raw === '1' || raw === 'true') return true
  return raw // addresses, CIDRs or proxy-addr presets (loopback, linklocal, uniquelocal), comma-separated
}

/**
 * METRICS_ALLOW: unset or `loopback` = loopback clients only, `none` = no metrics route, else
 * addresses/CIDRs allowed besides loopback (each checked here, so a typo fails at startup).
 */
export function metricsAllow(raw: string | undefined): string[] | false {
  const entries = (raw ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '')
  if (entries.includes('none')) {
    if (entries.length > 1) throw new Error('METRICS_ALLOW: none cannot be combined with addresses')
    return false
  }
  return entries
    .filter((e) => e !== 'loopback') // always allowed
    .map((e) => {
      const [address, bits, extra] = e.split('/')
      const family = isIP(address)
      const prefixOk = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))
      if (family === 0 || address.includes('%') || extra !== undefined || !prefixOk) {
        throw new Error(`METRICS_ALLOW: ${JSON.stringify(e).slice(0, 60)} is not an IP address or CIDR (or none, loopback)`)
      }
      return e
    })
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  // a renamed knob must not be silently ignored: the old one took @fastify/rate-limit's syntax
  if (env.RATE_LIMIT_WINDOW) throw new Error('RATE_LIMIT_WINDOW is replaced by RATE_LIMIT_WINDOW_SECONDS (an integer)')
  return {
    port: int(env, 'PORT', DEFAULTS.port),
    host: env.HOST || DEFAULTS.host,
    poolSize: int(env, 'POOL_SIZE', availableParallelism(), 1),
    queueMax: int(env, 'QUEUE_MAX', DEFAULTS.queueMax),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', DEFAULTS.requestTimeoutMs, 1),
    queueWaitMs: int(env, 'QUEUE_WAIT_MS', DEFAULTS.queueWaitMs, 1),
    workerKeyCache: int(env, 'WORKER_KEY_CACHE', DEFAULTS.workerKeyCache, 1),
    workerHeapLimitMb: heapLimit(env),
    sessionTtlSeconds: int(env, 'SESSION_TTL_SECONDS', DEFAULTS.sessionTtlSeconds, 1),
    sessionMax: int(env, 'SESSION_MAX', DEFAULTS.sessionMax, 1),
    sessionMaxBytes: int(env, 'SESSION_MAX_BYTES', DEFAULTS.sessionMaxBytes, 1),
    sessionIdleSeconds: int(env, 'SESSION_IDLE_SECONDS', DEFAULTS.sessionIdleSeconds, 1),
    sessionsPerClient: int(env, 'SESSIONS_PER_CLIENT', DEFAULTS.sessionsPerClient, 1),
    sessionBytesPerClient: int(env, 'SESSION_BYTES_PER_CLIENT', DEFAULTS.sessionBytesPerClient, 1),
    maxKeysBytes: int(env, 'MAX_KEYS_BYTES', DEFAULTS.maxKeysBytes, 1024),
    maxRequestBytes: int(env, 'MAX_REQUEST_BYTES', DEFAULTS.maxRequestBytes, 1024),
    rateLimitMax: int(env, 'RATE_LIMIT_MAX', DEFAULTS.rateLimitMax),
    rateLimitWindowSeconds: int(env, 'RATE_LIMIT_WINDOW_SECONDS', DEFAULTS.rateLimitWindowSeconds, 1),
    rateCostKeys: int(env, 'RATE_COST_KEYS', DEFAULTS.rateCostKeys, 1),
    rateCostClassify: int(env, 'RATE_COST_CLASSIFY', DEFAULTS.rateCostClassify, 1),
    rateLimitClients: int(env, 'RATE_LIMIT_CLIENTS', DEFAULTS.rateLimitClients, 1),
    maxQueriesPerSession: int(env, 'MAX_QUERIES_PER_SESSION', DEFAULTS.maxQueriesPerSession),
    maxQueriesPerClient: int(env, 'MAX_QUERIES_PER_CLIENT', DEFAULTS.maxQueriesPerClient),
    queryWindowSeconds: int(env, 'QUERY_WINDOW_SECONDS', DEFAULTS.queryWindowSeconds, 1),
    logitNoiseStd: nonNegative(env, 'LOGIT_NOISE_STD', DEFAULTS.logitNoiseStd),
    connectionsMax: int(env, 'CONNECTIONS_MAX', DEFAULTS.connectionsMax, 1),
    connectionsPerClient: int(env, 'CONNECTIONS_PER_CLIENT', DEFAULTS.connectionsPerClient, 1),
    keepAliveTimeoutMs: int(env, 'KEEP_ALIVE_TIMEOUT_MS', DEFAULTS.keepAliveTimeoutMs, 1),
    headersTimeoutMs: int(env, 'HEADERS_TIMEOUT_MS', DEFAULTS.headersTimeoutMs, 1),
    corsOrigin: env.CORS_ORIGIN || undefined,
    logLevel: env.LOG_LEVEL || DEFAULTS.logLevel,
    trustProxy: trustProxy(env.TRUST_PROXY),
    metricsAllow: metricsAllow(env.METRICS_ALLOW),
    splitImages: splitImages(env.SPLIT_IMAGES),
    // absent rather than undefined when unset: embedded mode's config is exactly as before
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    evaluatorLockMs: int(env, 'EVALUATOR_LOCK_MS', DEFAULTS.evaluatorLockMs, 1000),
    ...(env.JOB_MAC_KEY ? { jobMacKey: env.JOB_MAC_KEY } : {}),
  }
}
