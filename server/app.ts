/**
 * The Blindfold inference server as a Fastify instance (no listen): tests call
 * app.inject(), server/main.ts listens. It composes the server's parts: errors and hooks
 * (server/http/), request limits (server/limits/), the back end that hangs off `app.blindfold`
 * (server/backend/), the routes and their API description (server/routes/), the static site.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { backend, type AppConfig } from './backend/backend'
import { DEFAULTS, type ServerConfig } from './config'
import { errorsAndHooks } from './http/errors-and-hooks'
import { serverOptions } from './http/server-options'
import { staticSite } from './http/static-site'
import { requestLimits } from './limits/request-limits'
import { limitConnections } from './http/connection-limits'
import { Metrics } from './metrics/metrics'
import type { ModelFiles } from '../src/datasets/model-files'
import type { PoolFaults } from './pool/faults'
import { describeApi } from './routes/api-description'
import { healthRoutes } from './routes/health'
import { jobRoutes } from './routes/jobs'
import { metricsAccess, metricsRoutes } from './routes/metrics'
import { modelRoutes } from './routes/models'
import { sampleRoutes } from './routes/samples'
import { sessionRoutes } from './routes/sessions'

export type { Blindfold } from './backend/backend'

export interface AppOptions extends Partial<Omit<ServerConfig, 'port' | 'host'>> {
  models: Map<string, ModelFiles>
  /** Fastify logger option; false keeps tests quiet */
  logger?: FastifyServerOptions['logger']
  /** directory of the built SPA (dist/); served only when given and present */
  staticDir?: string
  /** the folder the models were loaded from, where their samples/ folders are read (default server/models) */
  modelsDir?: string
  /** wall clock for session TTLs, rate limits and query windows (tests) */
  now?: () => number
  /** tests only: faults injected into the embedded pool's jobs (server/test-support/faults.ts) */
  faults?: PoolFaults
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { models: files, logger, staticDir, modelsDir, now = Date.now, faults, ...overrides } = options
  const config: AppConfig = { ...DEFAULTS, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) }
  const metrics = new Metrics()
  const app = Fastify(serverOptions(config, logger, metrics))
  limitConnections(app.server, config, (code) => metrics.rejected(code))
  errorsAndHooks(app, metrics)
  backend(app, { config, files, metrics, now, faults })
  // who may read GET /metrics (routes/metrics.ts); undefined: METRICS_ALLOW=none, no route
  const metricsAllowed = config.metricsAllow === false ? undefined : metricsAccess(config.metricsAllow, { trustEveryHop: config.trustProxy === true })
  requestLimits(app, config, now, metricsAllowed)
  // before any route: shared schemas, schema errors as 400 bad_request, GET /api/v1/openapi.json
  await describeApi(app)
  await app.register(healthRoutes)
  await app.register(modelRoutes)
  await app.register(sampleRoutes, { root: modelsDir })
  await app.register(sessionRoutes)
  await app.register(jobRoutes)
  if (metricsAllowed) await app.register(metricsRoutes, { allowed: metricsAllowed })
  await staticSite(app, staticDir)
  return app
}
