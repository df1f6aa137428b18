// Liveness (the process answers) and readiness (the pool's workers have loaded the models; distributed
// mode: Redis answers and an evaluator is connected to the queue).
// Readiness says nothing else: no session, queue or worker counts (they told anyone how full the server is).
import type { FastifyInstance } from 'fastify'
import { paths } from '../../src/api/wire'

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  // probes cost nothing: a load balancer's probes must not use up one client's rate limit
  app.get(paths.health, { config: { cost: 'free' } }, async () => ({ status: 'ok' }))
  app.get(paths.ready, { config: { cost: 'free' } }, async (_request, reply) => {
    if (app.blindfold.evaluation.isReady()) return { ready: true }
    // why the workers failed is in the server log, not in a public answer
    const { evaluation } = app.blindfold
    const message = evaluation.failure ? 'workers failed to start' : (evaluation.notReadyReason?.() ?? 'workers are loading the models')
    return reply.code(503).send({ ready: false, error: { code: 'not_ready', message } })
  })
}
