/**
 * Sessions: a client uploads its evaluation keys once (validated in a worker
 * before the session exists), then sends one request container per image.
 * Media type and body size are refused before the body is read (body-policy.ts);
 * session quotas are in session-store.ts, query budgets here.
 */
import type { FastifyInstance } from 'fastify'
import { BINARY, headers, paths, type SessionCreated } from '../../src/api/wire'
import { clientOf } from '../client-id'
import { HttpError } from '../http-error'
import { QueryBudget } from '../query-budget'
import { SessionStore, type Session } from '../session-store'
import { checkKeysBody, checkRequestBody } from '../validate'

const sessionPattern = `${paths.sessions}/:id`

export async function sessionRoutes(app: FastifyInstance): Promise<void> {
  const { config, models, pool, sessions } = app.blindfold
  const unknownSession = () =>
    new HttpError(404, 'unknown_session', 'no such session (unknown or expired): upload the evaluation keys again')
  const clientBudget =
    config.maxQueriesPerClient > 0
      ? new QueryBudget({ max: config.maxQueriesPerClient, windowMs: config.queryWindowSeconds * 1000, maxClients: config.rateLimitClients, now: app.blindfold.now })
      : undefined

  /**
   * Counts one classification against the session's and the client's budgets, or refuses it.
   * Returns the refund for a classification that produced no answer (nothing was learnt from it).
   */
  function reserveQuery(session: Session, client: string): () => void {
    if (config.maxQueriesPerSession > 0 && session.queries >= config.maxQueriesPerSession) {
      throw new HttpError(
        429,
        'query_budget_exhausted',
        `these evaluation keys have had their ${config.maxQueriesPerSession} classifications: upload new keys for a new session`,
      )
    }
    const reserved = clientBudget?.reserve(client)
    if (reserved && !reserved.ok) {
      throw new HttpError(
        429,
        'query_budget_exhausted',
        `this client has had its ${config.maxQueriesPerClient} classifications per ${config.queryWindowSeconds} s; new keys do not reset this budget`,
        { 'retry-after': String(reserved.retryAfterSeconds) },
      )
    }
    session.queries++
    return () => {
      session.queries--
      if (reserved?.ok) clientBudget!.refund(client, reserved.slot)
    }
  }

  // a route's limit is the largest of its models'; each body is then held to its own model's
  const routeLimit = (kind: 'keys' | 'request') => Math.max(...[...models.values()].map((m) => m.limits[kind]))
  const withinModel = (body: unknown, limit: number, name: string) => {
    if (body instanceof Uint8Array && body.byteLength > limit) throw new HttpError(413, 'body_too_large', `the body is larger than model ${name} accepts (${limit} bytes)`)
  }

  app.post<{ Querystring: { model?: string } }>(
    paths.sessions,
    { bodyLimit: routeLimit('keys'), config: { cost: 'keys', binaryBody: true } },
    async (request, reply) => {
      const name = request.query.model
      if (!name) throw new HttpError(400, 'bad_request', 'the model query parameter is required')
      const model = models.get(name)
      if (!model) throw new HttpError(404, 'unknown_model', `no model named ${JSON.stringify(name).slice(0, 80)}`)
      const owner = clientOf(request)
      withinModel(request.body, model.limits.keys, name)
      // copy out of Fastify's buffer: the store keeps these bytes for the session's life
      const keys = new Uint8Array(checkKeysBody(request.body))
      sessions.admit(owner, keys.byteLength) // refuse before a worker spends time on the keys
      const id = SessionStore.newId()
      await pool.validateKeys(id, name, keys, request.id)
      const session = sessions.add(id, name, keys, owner)
      const body: SessionCreated = { sessionId: id, model: name, expiresAt: new Date(session.expiresAt).toISOString() }
      return reply.code(201).send(body)
    },
  )

  app.post<{ Params: { id: string } }>(
    `${sessionPattern}/classify`,
    { bodyLimit: routeLimit('request'), config: { cost: 'classify', binaryBody: true } },
    async (request, reply) => {
      const session = sessions.touch(request.params.id)
      if (!session) throw unknownSession()
      const model = models.get(session.model)!
      withinModel(request.body, model.limits.request, session.model)
      const bytes = checkRequestBody(request.body, model.plan.input.ciphertexts, model.manifest.he)
      const refund = reserveQuery(session, clientOf(request))
      let result: { response: Uint8Array; ms: number; parts: number }
      try {
        result = await pool.classify(session.id, session.model, session.keys, bytes, request.id)
      } catch (e) {
        refund()
        throw e
      }
      const { response, ms, parts } = result
      return reply
        .code(200)
        .type(BINARY)
        .header(headers.serverMs, ms.toFixed(1))
        .header(headers.serverWorkers, String(parts))
        .send(Buffer.from(response.buffer, response.byteOffset, response.byteLength))
    },
  )

  app.delete<{ Params: { id: string } }>(sessionPattern, async (request, reply) => {
    if (!sessions.delete(request.params.id)) throw unknownSession()
    return reply.code(204).send()
  })
}
