/**
 * The back end as the routes see it (`app.blindfold`): the models with their plans and body
 * limits, the evaluation and the session store of the mode the configuration picks (embedded,
 * or distributed with REDIS_URL: server/distributed/), the job registry and the measured costs.
 */
import type { FastifyInstance } from 'fastify'
import type { ServerConfig } from '../config'
import { distributedBackend } from '../distributed/backend'
import { Metrics } from '../metrics/metrics'
import { ModelCosts, plannedBytes } from '../metrics/model-costs'
import type { ModelFiles } from '../../src/datasets/model-files'
import type { PoolFaults } from '../pool/faults'
import { JOB_KEEP_MAX, JOB_KEEP_MS } from '../routes/jobs'
import { JobRegistry } from '../sessions/job-registry'
import { uploadBounds } from '../../src/he/object-sizes'
import { derivePlan } from '../../src/he/plan'
import type { EvaluationPlan } from '../../src/he/evaluation-plan'
import { stageNames } from '../../src/he/stage-names'
import { publicModel, type PublicModel } from '../../src/he/public-model'
import type { Evaluation, Sessions } from './contract'
import { embeddedBackend } from './embedded'

export type AppConfig = Omit<ServerConfig, 'port' | 'host'>

export interface Blindfold {
  config: AppConfig
  /** each model with its plan, its public description (GET /models, made once at start), its stages' names and its body limits (the configured ones, or larger where the model needs it) */
  models: Map<string, ModelFiles & { plan: EvaluationPlan; description: PublicModel; stageNames: string[]; limits: { keys: number; request: number } }>
  /**
   * What the routes evaluate with: the in-process pool (embedded mode), or the BullMQ queue
   * facade (distributed mode, REDIS_URL: server/distributed/)
   */
  evaluation: Evaluation
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

/** Decorates `app.blindfold` and closes the back end with the app. */
export function backend(
  app: FastifyInstance,
  o: { config: AppConfig; files: Map<string, ModelFiles>; metrics: Metrics; now: () => number; faults?: PoolFaults },
): Blindfold {
  const { config, files, metrics, now } = o
  const models = new Map(
    [...files].map(([name, f]) => {
      const plan = derivePlan(f.manifest)
      // the configured limits are floors: a model whose seeded uploads need more (a CIFAR-10 key
      // set, its request) gets its own bound, checked per model in the routes
      const bounds = uploadBounds(f.manifest.he, plan.rotationSteps.length, plan.input.ciphertexts)
      const limits = { keys: Math.max(config.maxKeysBytes, bounds.keys), request: Math.max(config.maxRequestBytes, bounds.request) }
      return [name, { ...f, plan, description: publicModel(f.manifest, plan), stageNames: stageNames(f.manifest.layers, plan), limits }]
    }),
  )
  const { evaluation, sessions } = config.redisUrl
    ? distributedBackend({ ...config, redisUrl: config.redisUrl }, [...models.keys()], app.log, metrics)
    : embeddedBackend(config, files, {
        log: app.log,
        observer: metrics.poolObserver,
        faults: o.faults,
        // derived above: the pool orders its builds by them instead of deriving them again
        plans: new Map([...models].map(([name, m]) => [name, m.plan])),
        now,
      })
  const jobs = new JobRegistry({ keepMs: JOB_KEEP_MS, maxFinished: JOB_KEEP_MAX, now })
  const costs = new ModelCosts(
    new Map([...models].map(([name, m]) => [name, plannedBytes(m.manifest.he, m.plan)])),
  )
  metrics.watch({
    queued: () => (evaluation.queueDepth ? evaluation.queueDepth() : evaluation.queued),
    sessions: () => sessions.size,
    sessionKeyBytes: () => sessions.totalBytes,
  })
  const blindfold: Blindfold = { config, models, evaluation, sessions, jobs, costs, now, metrics }
  app.decorate('blindfold', blindfold)
  app.addHook('onClose', async () => {
    await sessions.close()
    await evaluation.close()
  })
  return blindfold
}
