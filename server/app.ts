/**
 * The Blindfold inference server as a Fastify instance (no listen): tests call
 * app.inject(), server/main.ts listens. Everything the routes need hangs off
 * `app.blindfold`.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import { randomUUID } from 'node:crypto'
import { DEFAULTS, type ServerConfig } from './config'
import { toApiError } from './http-error'
import type { ModelFiles } from './model-files'
import { WorkerPool } from './pool/pool'
import { SessionStore } from './session-store'
import { cors, securityHeaders } from './security-headers'
import { healthRoutes } from './routes/health'
import { modelRoutes } from './routes/models'
import { sessionRoutes } from './routes/sessions'
import { openapiRoutes } from './routes/openapi'
import { staticSite } from './static-site'
import { derivePlan, type EvaluationPlan } from '../src/he/plan'

export interface AppOptions extends Partial<Omit<ServerConfig, 'port' | 'host'>> {
  models: Map<string, ModelFiles>
  /** Fastify logger option; false keeps tests quiet */
  logger?: FastifyServerOptions['logger']
  /** directory of the built SPA (dist/); served only when given and present */
  staticDir?: string
  /** wall clock for session TTLs (tests) */
  now?: () => number
}

export interface Blindfold {
  config: Omit<ServerConfig, 'port' | 'host'>
  models: Map<string, ModelFiles & { plan: EvaluationPlan }>
  pool: WorkerPool
  sessions: SessionStore
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
  const app = Fastify({
    logger: logger ?? false,
    genReqId: () => randomUUID(),
    trustProxy: config.trustProxy,
    // the largest body is an evaluation-key upload; routes set tighter limits
    bodyLimit: config.maxKeysBytes,
  })
  const models = new Map([...files].map(([name, f]) => [name, { ...f, plan: derivePlan(f.manifest) }]))
  const pool = new WorkerPool({
    models: files,
    size: config.poolSize,
    queueMax: config.queueMax,
    timeoutMs: config.requestTimeoutMs,
    keyCache: config.workerKeyCache,
    log: app.log,
  })
  const sessions = new SessionStore({
    ttlMs: config.sessionTtlSeconds * 1000,
    maxSessions: config.sessionMax,
    maxBytes: config.sessionMaxBytes,
    onDrop: (id) => pool.dropSession(id),
    now,
  })
  app.decorate('blindfold', { config, models, pool, sessions })
  // in-flight answers during shutdown end their keep-alive connection, so close() need not
  // wait out the keep-alive timeout (idle connections Fastify closes itself)
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })
  app.addHook('onClose', async () => {
    sessions.close()
    await pool.close()
  })

  app.setErrorHandler((error, request, reply) => {
    const mapped = toApiError(error)
    if (mapped.statusCode >= 500) request.log.error({ code: mapped.body.error.code, err: (error as Error)?.message }, 'request failed')
    else request.log.info({ code: mapped.body.error.code }, 'request refused')
    reply.code(mapped.statusCode).headers(mapped.headers).type('application/json').send(mapped.body)
  })

  // binary bodies arrive as raw bytes; any other media type is refused per route (415)
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  securityHeaders(app)
  cors(app, config.corsOrigin)
  if (config.rateLimitMax > 0) {
    await app.register(rateLimit, {
      max: config.rateLimitMax,
      timeWindow: config.rateLimitWindow,
      errorResponseBuilder: (_req, ctx) => ({
        statusCode: 429,
        error: { code: 'rate_limited', message: `rate limit of ${ctx.max} requests per ${ctx.after} exceeded` },
      }),
    })
  }

  await app.register(healthRoutes)
  await app.register(modelRoutes)
  await app.register(sessionRoutes)
  await app.register(openapiRoutes)
  await staticSite(app, staticDir)
  return app
}
