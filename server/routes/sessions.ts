/**
 * Sessions: a client uploads its evaluation keys once (validated in a worker
 * before the session exists), then sends one request container per image.
 * Media type and body size are refused before the body is read (body-policy.ts);
 * session quotas are in session-store.ts, query budgets here. A classification
 * may be followed and cancelled by its request id (jobs.ts).
 */
import type { FastifyInstance } from 'fastify'
import { BINARY, headers, paths, type SessionCreated } from '../../src/api/wire'
import { clientOf } from '../client-id'
import { HttpError } from '../http-error'
import { cancelledError } from '../pool/pool'
import { QueryBudget } from '../query-budget'
import { SessionStore, type Session } from '../session-store'
import { checkKeysBody, checkRequestBody } from '../validate'
import { classificationOf, trackClassification } from './jobs'

const sessionPattern = `${paths.sessions}/:id`

export async function sessionRoutes(app: FastifyInstance): Promise<void> {
  // pool: the in-process WorkerPool or, with REDIS_URL, the BullMQ queue (server/evaluation.ts)
  const { config, models, evaluation: pool, sessions, jobs, costs } = app.blindfold
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
      await sessions.admit(owner, keys.byteLength) // refuse before a worker spends time on the keys
      const id = SessionStore.newId()
      await pool.validateKeys(id, name, keys, request.id)
      const session = await sessions.add(id, name, keys, owner)
      costs.keysAccepted(name, keys.byteLength)
      const body: SessionCreated = { sessionId: id, model: name, expiresAt: new Date(session.expiresAt).toISOString() }
      return reply.code(201).send(body)
    },
  )

  app.post<{ Params: { id: string } }>(
    `${sessionPattern}/classify`,
    { bodyLimit: routeLimit('request'), config: { cost: 'classify', binaryBody: true }, onRequest: trackClassification(app) },
    async (request, reply) => {
      const job = classificationOf(request)
      const session = await sessions.touch(request.params.id)
      if (!session) throw unknownSession()
      const model = models.get(session.model)!
      withinModel(request.body, model.limits.request, session.model)
      const bytes = checkRequestBody(request.body, model.plan.input.ciphertexts, model.manifest.he)
      // cancelled while its body was arriving: never queued, nothing counted
      if (job.stopped()) throw cancelledError()
      const refund = reserveQuery(session, clientOf(request))
      let result: { response: Uint8Array; ms: number; parts: number }
      try {
        // request.id is also the pool's key of this job (cancel when the client goes away, jobs.ts)
        result = await pool.classify(session.id, session.model, session.keys, bytes, request.id, {
          onProgress: ({ done }) => {
            if (job.tracked) job.tracked.done = done
          },
        })
        // it may have finished just as it was cancelled: a cancelled job still gives no answer
        if (job.stopped()) throw cancelledError()
      } catch (e) {
        // nothing was learnt from it: the query is given back
        refund()
        const cancelled = job.stopped()
        if (job.tracked) jobs.finish(job.tracked, cancelled ? 'cancelled' : 'failed')
        throw cancelled ? cancelledError() : e
      }
      const { response, ms, parts } = result
      if (job.tracked) jobs.finish(job.tracked, 'done')
      costs.classified(session.model, { requestBytes: bytes.byteLength, responseBytes: response.byteLength, serverMs: ms })
      return reply
        .code(200)
        .type(BINARY)
        .header(headers.serverMs, ms.toFixed(1))
        .header(headers.serverWorkers, String(parts))
        .send(Buffer.from(response.buffer, response.byteOffset, response.byteLength))
    },
  )

  app.delete<{ Params: { id: string } }>(sessionPattern, async (request, reply) => {
    if (!(await sessions.delete(request.params.id))) throw unknownSession()
    return reply.code(204).send()
  })
}
