/**
 * Sessions: a client uploads its evaluation keys once (validated in a worker
 * before the session exists), then sends one request container per image.
 * Media type, the model (by name, or the session's) and its body limit are checked before the
 * body is read (body-policy.ts);
 * session quotas are in session-store.ts, query budgets here. A classification
 * may be followed and cancelled by its request id (jobs.ts).
 */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { BINARY, headers, paths, type SessionCreated } from '../../src/api/wire'
import { limitedByTarget } from '../http/body-policy'
import { clientOf } from '../http/client-id'
import { HttpError } from '../http/http-error'
import { cancelledError } from '../backend/contract'
import type { Reserve } from '../limits/query-budget'
import { clientQueryBudget } from '../limits/shared-query-budget'
import { SessionStore, type Session } from '../sessions/session-store'
import { checkKeysBody, checkRequestBody } from './body-checks'
import { classificationOf, trackClassification } from './jobs'
import { classify, createSession, deleteSession } from './sessions.schema'

const sessionPattern = `${paths.sessions}/:id`

export async function sessionRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  // pool: the in-process WorkerPool or, with REDIS_URL, the BullMQ queue (server/backend/contract.ts)
  const { config, models, evaluation: pool, sessions, jobs, costs } = app.blindfold
  const unknownSession = () =>
    new HttpError(404, 'unknown_session', 'no such session (unknown or expired): upload the evaluation keys again')
  // in memory, or shared by the replicas through Redis (distributed mode)
  const clientBudget = clientQueryBudget(fastify, config, app.blindfold.now)

  /**
   * Counts one classification against the session's and the client's budgets, or refuses it.
   * Returns the refund for a classification that produced no answer (nothing was learnt from it).
   */
  async function reserveQuery(session: Session, client: string): Promise<() => void> {
    if (config.maxQueriesPerSession > 0 && session.queries >= config.maxQueriesPerSession) {
      throw new HttpError(
        429,
        'query_budget_exhausted',
        `these evaluation keys have had their ${config.maxQueriesPerSession} classifications: upload new keys for a new session`,
      )
    }
    // counted before the client's budget is asked (which may wait on Redis), so that concurrent
    // classifications cannot all pass the session's check
    session.queries++
    let reserved: Reserve | undefined
    try {
      reserved = await clientBudget?.reserve(client)
    } catch (e) {
      session.queries--
      throw e
    }
    if (reserved && !reserved.ok) {
      session.queries--
      throw new HttpError(
        429,
        'query_budget_exhausted',
        `this client has had its ${config.maxQueriesPerClient} classifications per ${config.queryWindowSeconds} s; new keys do not reset this budget`,
        { 'retry-after': String(reserved.retryAfterSeconds) },
      )
    }
    return () => {
      session.queries--
      if (reserved?.ok) clientBudget!.refund(client, reserved.slot)
    }
  }

  // a route's limit is the largest of its models' (Fastify's own bound); each body is held to its
  // own model's before a byte is read (preParsing, limitedByTarget)
  const routeLimit = (kind: 'keys' | 'request') => Math.max(...[...models.values()].map((m) => m.limits[kind]))
  const unknownModel = (name: string) => new HttpError(404, 'unknown_model', `no model named ${JSON.stringify(name).slice(0, 80)}`)
  // the hooks run before the schema's validation: what they read is checked here
  const keysLimit = limitedByTarget(async (request) => {
    const name = (request.query as { model?: unknown }).model
    if (typeof name !== 'string' || name === '') throw new HttpError(400, 'bad_request', 'the query parameter model is required')
    const model = models.get(name)
    if (!model) throw unknownModel(name)
    return { limit: model.limits.keys, what: `model ${name}` }
  })
  const requestLimit = limitedByTarget(async (request) => {
    // not a use of the keys: the handler touches the session once the body has arrived
    const session = await sessions.peek(String((request.params as { id?: unknown }).id))
    if (!session) throw unknownSession()
    return { limit: models.get(session.model)!.limits.request, what: `model ${session.model}` }
  })

  app.post(
    paths.sessions,
    { schema: createSession, bodyLimit: routeLimit('keys'), config: { cost: 'keys', binaryBody: true }, preParsing: keysLimit },
    async (request, reply) => {
      // the schema has refused a missing or empty model (400 bad_request)
      const name = request.query.model
      const model = models.get(name)
      if (!model) throw unknownModel(name)
      const owner = clientOf(request)
      // copy out of Fastify's buffer: the store keeps these bytes for the session's life
      const keys = new Uint8Array(checkKeysBody(request.body))
      await sessions.admit(owner, keys.byteLength) // refuse before a worker spends time on the keys
      const id = SessionStore.newId()
      await pool.validateKeys(id, name, keys, request.id, { client: owner })
      const session = await sessions.add(id, name, keys, owner)
      costs.keysAccepted(name, keys.byteLength)
      const body: SessionCreated = { sessionId: id, model: name, expiresAt: new Date(session.expiresAt).toISOString() }
      return reply.code(201).send(body)
    },
  )

  app.post(
    `${sessionPattern}/classify`,
    { schema: classify, bodyLimit: routeLimit('request'), config: { cost: 'classify', binaryBody: true }, onRequest: trackClassification(fastify), preParsing: requestLimit },
    async (request, reply) => {
      const job = classificationOf(request)
      const session = await sessions.touch(request.params.id)
      if (!session) throw unknownSession()
      const model = models.get(session.model)!
      const bytes = checkRequestBody(request.body, model.plan.input.ciphertexts, model.manifest.he)
      // cancelled while its body was arriving: never queued, nothing counted
      if (job.stopped()) throw cancelledError()
      const refund = await reserveQuery(session, clientOf(request))
      let result: { response: Uint8Array; ms: number; parts: number }
      try {
        // request.id is also the pool's key of this job (cancel when the client goes away, jobs.ts)
        result = await pool.classify(session.id, session.model, session.keys, bytes, request.id, {
          client: session.owner,
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

  app.delete(sessionPattern, { schema: deleteSession }, async (request, reply) => {
    if (!(await sessions.delete(request.params.id))) throw unknownSession()
    return reply.code(204).send()
  })
}
