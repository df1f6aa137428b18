/**
 * Sessions: a client uploads its evaluation keys once (validated in a worker
 * before the session exists), then sends one request container per image.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { BINARY, headers, paths, type SessionCreated } from '../../src/api/wire'
import { HttpError } from '../http-error'
import { SessionStore } from '../session-store'
import { checkKeysBody, checkRequestBody } from '../validate'

/** Refuses any body that is not application/octet-stream before it is read. */
async function requireBinary(request: FastifyRequest): Promise<void> {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  if (type !== BINARY) {
    throw new HttpError(415, 'unsupported_media_type', `expected ${BINARY}, got ${type || 'no content type'}`)
  }
}

const sessionPattern = `${paths.sessions}/:id`

export async function sessionRoutes(app: FastifyInstance): Promise<void> {
  const { config, models, pool, sessions } = app.blindfold
  const unknownSession = () =>
    new HttpError(404, 'unknown_session', 'no such session (unknown or expired): upload the evaluation keys again')

  app.post<{ Querystring: { model?: string } }>(
    paths.sessions,
    { bodyLimit: config.maxKeysBytes, onRequest: requireBinary },
    async (request, reply) => {
      const name = request.query.model
      if (!name) throw new HttpError(400, 'bad_request', 'the model query parameter is required')
      const model = models.get(name)
      if (!model) throw new HttpError(404, 'unknown_model', `no model named ${JSON.stringify(name).slice(0, 80)}`)
      // copy out of Fastify's buffer: the store keeps these bytes for the session's life
      const keys = new Uint8Array(checkKeysBody(request.body))
      const id = SessionStore.newId()
      await pool.validateKeys(id, name, keys)
      const session = sessions.add(id, name, keys)
      const body: SessionCreated = { sessionId: id, model: name, expiresAt: new Date(session.expiresAt).toISOString() }
      return reply.code(201).send(body)
    },
  )

  app.post<{ Params: { id: string } }>(
    `${sessionPattern}/classify`,
    { bodyLimit: config.maxRequestBytes, onRequest: requireBinary },
    async (request, reply) => {
      const session = sessions.touch(request.params.id)
      if (!session) throw unknownSession()
      const model = models.get(session.model)!
      const bytes = checkRequestBody(request.body, model.plan.input.ciphertexts)
      const { response, ms } = await pool.classify(session.id, session.model, session.keys, bytes)
      return reply
        .code(200)
        .type(BINARY)
        .header(headers.serverMs, ms.toFixed(1))
        .send(Buffer.from(response.buffer, response.byteOffset, response.byteLength))
    },
  )

  app.delete<{ Params: { id: string } }>(sessionPattern, async (request, reply) => {
    if (!sessions.delete(request.params.id)) throw unknownSession()
    return reply.code(204).send()
  })
}
