// Liveness (the process answers) and readiness (the pool's workers have loaded the models).
import type { FastifyInstance } from 'fastify'
import { paths } from '../../src/api/wire'

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get(paths.health, { config: { rateLimit: false } }, async () => ({ status: 'ok' }))
  app.get(paths.ready, { config: { rateLimit: false } }, async (_request, reply) => {
    const { pool, sessions } = app.blindfold
    const body = { ready: pool.isReady(), workers: pool.workers().length, queued: pool.queued, sessions: sessions.size }
    if (!body.ready) {
      const message = pool.failure ? `workers failed to start: ${pool.failure}` : 'workers are loading the models'
      return reply.code(503).send({ ...body, error: { code: 'not_ready', message } })
    }
    return body
  })
}
