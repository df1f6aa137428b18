/**
 * Sessions: upload evaluation keys once (POST /sessions), classify one encrypted image per
 * request (POST /sessions/{id}/classify), forget the session (DELETE /sessions/{id}). The binary
 * bodies are Blindfold wire containers: their bytes are in each model's `client` description.
 */
import { Type } from '@sinclair/typebox'
import { headers, type SessionCreated } from '../../src/api/wire'
import { binaryAnswer, binaryBody, errorResponses, NoContent, RequestIdSchema, SessionIdSchema } from './common.schema'
import type { Equal } from './type-equal'

export const SessionCreatedSchema = Type.Object(
  {
    sessionId: Type.String({ description: 'names the session in the paths below' }),
    model: Type.String(),
    expiresAt: Type.String({ format: 'date-time', description: 'ISO time; every classification moves it on by the session TTL' }),
  },
  { $id: 'SessionCreated', description: 'A session: evaluation keys the server holds for one model' },
)
export const typeCheckSessionCreated: Equal<typeof SessionCreatedSchema.static, SessionCreated> = true

/** the words every container shares; the numbers are in the model's client description */
const CONTAINER =
  "A Blindfold container: 'BLFD' | version u8 (client.container.version) | kind u8 | section count u16 LE, then per section a length u32 LE and that many bytes, nothing after the last. "

export const createSession = {
  summary: 'Upload evaluation keys',
  description:
    'Relinearisation and Galois keys for one model, validated before the session exists. Each client holds a bounded number of sessions (a new one replaces its own least recently used); a full server refuses new ones (503 sessions_full).',
  querystring: Type.Object({ model: Type.String({ minLength: 1, description: 'the name of a model of GET /api/v1/models' }) }),
  body: binaryBody(
    CONTAINER +
      'Kind client.keys.containerKind, the sections of client.keys.sections in that order: RelinKeys, then GaloisKeys for exactly the listed rotation steps; each a packed key set (client.keys.packedLayout) or one SEAL object (client.sealObject), seeded or not, zstd or uncompressed. At most limits.evaluationKeyBytes of the model.',
  ),
  response: { 201: Type.Ref(SessionCreatedSchema), ...errorResponses(400, 404, 413, 415, 429, 500, 502, 503, 504) },
}

export const classify = {
  summary: 'Classify one encrypted image',
  description:
    `Evaluates the model on the request's ciphertexts and answers the encrypted logits; counts against the query budgets, if the server sets any. With ${headers.requestId}, its progress can be read and the job cancelled at /api/v1/sessions/{id}/jobs/{requestId} while this POST is open. ` +
    'Closing the connection before the answer cancels the job too. A cancelled or failed classification is not counted.',
  params: Type.Object({ id: SessionIdSchema }),
  headers: Type.Object({
    [headers.requestId]: Type.Optional(
      Type.String({
        ...RequestIdSchema,
        description: "an id of the client's choosing (a random UUID fits), unique among this session's live classifications (else 409 request_id_in_use); checked before the body is read",
      }),
    ),
  }),
  body: binaryBody(
    CONTAINER +
      'Kind client.request.containerKind, client.request.sections sections: input ciphertext c in section c, laid out by client.input, encoded at client.encoding.scale, fresh at the top level; each a packed ciphertext (client.request.packed) or one SEAL object, seeded (encryptSymmetricSerializable) or not, zstd or uncompressed. At most limits.requestBytes of the model.',
  ),
  response: {
    200: binaryAnswer(
      CONTAINER +
        'Kind client.response.containerKind, client.response.sections packed ciphertexts (client.response.packed: layout, sizes and how to decrypt), then logit o at client.response.logits.',
      {
        [headers.serverMs]: { type: 'string', description: 'server evaluation time, ms' },
        [headers.serverWorkers]: { type: 'string', description: 'worker threads that shared this image' },
      },
    ),
    ...errorResponses(400, 404, 409, 413, 414, 415, 429, 500, 502, 503, 504),
  },
}

export const deleteSession = {
  summary: 'Forget a session',
  description: 'The server drops the session and its keys at once.',
  params: Type.Object({ id: SessionIdSchema }),
  response: { 204: NoContent('deleted'), ...errorResponses(400, 404, 413, 414, 429) },
}
