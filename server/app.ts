/**
 * The Blindfold inference server as a Fastify instance (no listen): tests call
 * app.inject(), server/main.ts listens. Everything the routes need hangs off
 * `app.blindfold`.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { randomUUID } from 'node:crypto'
import { binaryOnlyParsers, closeOnUnreadBody, DEFAULT_BODY_LIMIT, refuseUnwantedBodies } from './body-policy'
import { DEFAULTS, type ServerConfig } from './config'
import { CostLimiter } from './cost-limiter'
import { clientErrorHandler, frameworkErrors } from './framework-errors'
import { toApiError } from './http-error'
import { JobRegistry } from './job-registry'
import { Metrics } from './metrics'
import { ModelCosts, plannedBytes } from './model-costs'
import type { ModelFiles } from './model-files'
import { WorkerPool } from './pool/pool'
import type { Evaluation, Sessions } from './evaluation'
import { distributedBackend } from './distributed/backend'
import { rateLimitHook } from './rate-limit'
import { SessionStore } from './session-store'
import { cors, securityHeaders } from './security-headers'
import { healthRoutes } from './routes/health'
import { modelRoutes } from './routes/models'
import { sessionRoutes } from './routes/sessions'
import { JOB_KEEP_MAX, JOB_KEEP_MS, jobRoutes } from './routes/jobs'
import { openapiRoutes } from './routes/openapi'
import { metricsAccess, metricsRoutes, METRICS_PATH } from './routes/metrics'
import { staticSite } from './static-site'
import { uploadBounds } from '../src/he/object-sizes'
import { derivePlan, type EvaluationPlan } from '../src/he/plan'
import { stageNames } from '../src/he/stage-names'

export interface AppOptions extends Partial<Omit<ServerConfig, 'port' | 'host'>> {
  models: Map<string, ModelFiles>
  /** Fastify logger option; false keeps tests quiet */
  logger?: FastifyServerOptions['logger']
  /** directory of the built SPA (dist/); served only when given and present */
  staticDir?: string
  /** wall clock for session TTLs, rate limits and query windows (tests) */
  now?: () => number
}

export interface Blindfold {
  config: Omit<ServerConfig, 'port' | 'host'>
  /** each model with its plan, its stages' names and its body limits (the configured ones, or larger where the model needs it) */
  models: Map<string, ModelFiles & { plan: EvaluationPlan; stageNames: string[]; limits: { keys: number; request: number } }>
  /**
   * What the routes evaluate with: the in-process pool (embedded mode), or the BullMQ queue
   * facade (distributed mode, REDIS_URL: server/distributed/)
   */
  evaluation: Evaluation
  /** the in-process pool, embedded mode only (tests reach into it); distributed mode has none and throws */
  pool: WorkerPool
  /** in memory (embedded) or in Redis (distributed) */
  sessions: Sessions
  /** classifications followed by request id (routes/jobs.ts) */
  jobs: JobRegistry
  /** each model's measured cost, published by GET /models */
  costs: ModelCosts
  /** wall clock of TTLs, rate limits and query windows */
  now: () => number
  /** this app's Prometheus registry and instruments (GET /metrics) */
  metrics: Metrics
}

declare module 'fastify' {
  interface FastifyInstance {
    blindfold: Blindfold
  }
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { models: files, logger, staticDir, now, ...overrides } = options
  const config: Blindfold['config'] = {
    ...DEFAULTS,
    poolSize: 2,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  }
  const clock = now ?? Date.now
  const metrics = new Metrics()
  const app = Fastify({
    logger: logger ?? false,
    genReqId: () => randomUUID(),
    trustProxy: config.trustProxy,
    // only the two binary routes take a body, each with its own limit (body-policy.ts)
    bodyLimit: DEFAULT_BODY_LIMIT,
    // a client trickling its request (slowloris) is cut off: a 38 MB CIFAR-10 key set still has 120 s (~330 KB/s)
    requestTimeout: 120_000,
    // errors raised before routing and by Node's parser, in the API format (framework-errors.ts)
    frameworkErrors: (error, request, reply) => {
      metrics.rejected(toApiError(error).body.error.code)
      frameworkErrors(error, request, reply)
    },
    clientErrorHandler: (error, socket) => clientErrorHandler(error, socket, (code) => metrics.rejected(code)),
  })
  const models = new Map(
    [...files].map(([name, f]) => {
      const plan = derivePlan(f.manifest)
      // the configured limits are floors: a model whose seeded uploads need more (a CIFAR-10 key
      // set is ~38 MB, its request ~2.5 MB) gets its own bound, checked per model in the routes
      const bounds = uploadBounds(f.manifest.he, plan.rotationSteps.length, plan.input.ciphertexts)
      const limits = { keys: Math.max(config.maxKeysBytes, bounds.keys), request: Math.max(config.maxRequestBytes, bounds.request) }
      return [name, { ...f, plan, stageNames: stageNames(f.manifest.layers, plan), limits }]
    }),
  )
  // embedded (default): the in-process pool and sessions in memory; distributed (REDIS_URL): the
  // BullMQ queue to `npm run evaluator` processes and sessions in Redis (server/distributed/)
  const { evaluation, sessions, pool } = config.redisUrl
    ? { ...distributedBackend({ ...config, redisUrl: config.redisUrl }, [...models.keys()], app.log, metrics), pool: undefined }
    : embeddedBackend(config, files, app.log, metrics, clock)
  const jobs = new JobRegistry({ keepMs: JOB_KEEP_MS, maxFinished: JOB_KEEP_MAX, now: clock })
  const costs = new ModelCosts(
    new Map([...models].map(([name, m]) => [name, plannedBytes(m.manifest.he, m.plan, () => evaluation.seededKeyBytes(name))])),
  )
  metrics.watch({
    queued: () => (evaluation.queueDepth ? evaluation.queueDepth() : evaluation.queued),
    sessions: () => sessions.size,
    sessionKeyBytes: () => sessions.totalBytes,
  })
  const blindfold = { config, models, evaluation, sessions, jobs, costs, now: clock, metrics } as Omit<Blindfold, 'pool'> as Blindfold
  Object.defineProperty(blindfold, 'pool', {
    get: () => {
      if (!pool) throw new Error('distributed mode (REDIS_URL) has no in-process pool: use blindfold.evaluation')
      return pool
    },
  })
  app.decorate('blindfold', blindfold)
  // in-flight answers during shutdown end their keep-alive connection, so close() need not
  // wait out the keep-alive timeout (idle connections Fastify closes itself)
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', async (request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    else await closeOnUnreadBody(request, reply)
    return payload
  })
  app.addHook('onClose', async () => {
    await sessions.close()
    await evaluation.close()
  })

  // every 4xx/5xx answered through the hooks is counted once, by its API error code: the error
  // handler's by the code it maps to, any other (readyz's 503) by the code in its JSON body
  const counted = new WeakSet<object>()
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400 && !counted.has(request)) {
      counted.add(request)
      metrics.rejected(errorCodeIn(payload))
    }
    return payload
  })
  app.setErrorHandler((error, request, reply) => {
    const mapped = toApiError(error)
    if (!counted.has(request)) {
      counted.add(request)
      metrics.rejected(mapped.body.error.code)
    }
    if (mapped.statusCode >= 500) request.log.error({ code: mapped.body.error.code, err: (error as Error)?.message }, 'request failed')
    else request.log.info({ code: mapped.body.error.code }, 'request refused')
    reply.code(mapped.statusCode).headers(mapped.headers).type('application/json').send(mapped.body)
  })

  binaryOnlyParsers(app)
  securityHeaders(app)
  // onRequest, in this order, for every request including the not-found handler's:
  // CORS headers (so a 429 is readable cross-origin), rate limit, preflight, body policy
  const corsHooks = cors(config.corsOrigin)
  app.addHook('onRequest', corsHooks.headers)
  // who may read GET /metrics (routes/metrics.ts); undefined: METRICS_ALLOW=none, no route
  const metricsAllowed =
    config.metricsAllow === false ? undefined : metricsAccess(config.metricsAllow, { trustEveryHop: config.trustProxy === true })
  if (config.rateLimitMax > 0) {
    const limiter = new CostLimiter({
      capacity: config.rateLimitMax,
      windowMs: config.rateLimitWindowSeconds * 1000,
      maxClients: config.rateLimitClients,
      now: clock,
    })
    const rateLimit = rateLimitHook({
      limiter,
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

  await app.register(healthRoutes)
  await app.register(modelRoutes)
  await app.register(sessionRoutes)
  await app.register(jobRoutes)
  await app.register(openapiRoutes)
  if (metricsAllowed) await app.register(metricsRoutes, { allowed: metricsAllowed })
  await staticSite(app, staticDir)
  return app
}

/** Embedded mode's back end: the in-process worker pool, sessions in memory. */
function embeddedBackend(
  config: Blindfold['config'],
  files: Map<string, ModelFiles>,
  log: FastifyInstance['log'],
  metrics: Metrics,
  now: () => number,
): { evaluation: Evaluation; sessions: Sessions; pool: WorkerPool } {
  const pool = new WorkerPool({
    models: files,
    size: config.poolSize,
    queueMax: config.queueMax,
    timeoutMs: config.requestTimeoutMs,
    keyCache: config.workerKeyCache,
    heapLimitBytes: config.workerHeapLimitMb * 1024 * 1024,
    logitNoiseStd: config.logitNoiseStd,
    // an idle server shares every model's image among its idle workers (measured 2026-12-04: mnist-cnn
    // 422 -> 350 ms, the four-level fashion-cnn 716 -> 500-620 ms, cifar10-cnn seconds)
    shareImages: config.splitImages === 'auto',
    log,
    observer: metrics.poolObserver,
  })
  const sessions = new SessionStore({
    ttlMs: config.sessionTtlSeconds * 1000,
    maxSessions: config.sessionMax,
    maxBytes: config.sessionMaxBytes,
    perClientSessions: config.sessionsPerClient,
    perClientBytes: config.sessionBytesPerClient,
    onDrop: (id) => pool.dropSession(id),
    now,
  })
  return { evaluation: pool, sessions, pool }
}

/** The API error code in an error answer's JSON body (`{ error: { code } }`), if any. */
function errorCodeIn(payload: unknown): string | undefined {
  if (typeof payload !== 'string' || payload.length > 4096) return undefined
  try {
    const code = (JSON.parse(payload) as { error?: { code?: unknown } } | null)?.error?.code
    return typeof code === 'string' ? code : undefined
  } catch {
    return undefined
  }
}
