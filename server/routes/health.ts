// Liveness (the process answers) and readiness (a pool worker has built at least one model, and which
// models are served; distributed mode: Redis answers and an evaluator is connected to the queue).
// Readiness says nothing else: no session, queue or worker counts (they told anyone how full the server is).
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { paths } from '../../src/api/wire'
import { modelServed } from '../backend/contract'
import { health, ready } from './health.schema'

export async function healthRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  // probes are cheap but counted (1 point, like any GET): a free route would let any client keep
  // connections busy without limit, while a load balancer's probes use a sliver of its bucket
  app.get(paths.health, { schema: health }, async () => ({ status: 'ok' as const }))
  app.get(paths.ready, { schema: ready }, async (request, reply) => {
    const { evaluation, models } = app.blindfold
    const readiness = [...models.keys()].map((name) => ({ name, ready: modelServed(evaluation, name) }))
    const served = request.query.all ? readiness.every((m) => m.ready) : evaluation.isReady()
    if (served) return { ready: true as const, models: readiness }
    // why the workers failed is in the server log, not in a public answer
    const message = evaluation.failure ? 'workers failed to start' : (evaluation.notReadyReason?.() ?? 'workers are loading the models')
    return reply.code(503).send({ ready: false, error: { code: 'not_ready', message }, models: readiness })
  })
}
