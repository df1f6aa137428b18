/**
 * The API described once: the route schemas (TypeBox, beside each route) validate requests,
 * serialise answers and, through @fastify/swagger, make the OpenAPI 3.1 document served at
 * GET /api/v1/openapi.json. Call `describeApi` on the root instance before any route is
 * declared: it registers the shared schemas (one component each in the document), turns a
 * schema refusal into the API's 400 bad_request, and collects every route as it is added.
 */
import type { FastifyInstance, FastifySchema } from 'fastify'
import swagger from '@fastify/swagger'
import { Type, type TSchema } from '@sinclair/typebox'
import { BINARY, paths } from '../../src/api/wire'
import { HttpError } from '../http/http-error'
import { ApiErrorSchema, errorResponses } from './common.schema'
import { JobProgressSchema } from './jobs.schema'
import { modelSchemas } from './models.schema'
import { sampleSchemas } from './samples.schema'
import { SessionCreatedSchema } from './sessions.schema'

/** Every schema with an $id, each before the schemas that refer to it. */
export const sharedSchemas: TSchema[] = [ApiErrorSchema, ...modelSchemas, ...sampleSchemas, SessionCreatedSchema, JobProgressSchema]

const DESCRIPTION =
  'Classify CKKS-encrypted images. The server never holds a secret key: a client makes its keys, uploads the evaluation keys once per model (a session), ' +
  'then sends one encrypted image per classification and decrypts the logits itself. Every number a client needs is data: GET /api/v1/models gives, ' +
  'per model, `client` (schema ClientDescription): HE parameters, normalisation and framing, the input slot rule, scale, key sections, request and ' +
  'response layouts and logit slots; and `limits`, the body sizes accepted. Binary bodies are Blindfold containers (application/octet-stream); every ' +
  'error body is an ApiError with a machine-readable code; no answer may be cached (Cache-Control: no-store). Only the two binary routes take a body; ' +
  'a body anywhere else is refused without being read. Requests draw on a per-client rate-limit budget by cost (a key upload and a classification cost more than a GET).'

const documentRoute = {
  summary: 'This document',
  description: 'The OpenAPI 3.1 description of this API, generated from the route schemas the server validates and answers with.',
  response: { 200: Type.Object({}, { additionalProperties: true, description: 'an OpenAPI 3.1 document' }), ...errorResponses(413, 429) },
}

export async function describeApi(app: FastifyInstance): Promise<void> {
  for (const schema of sharedSchemas) app.addSchema(schema)
  // the message names the part and the rule, never the value the client sent
  app.setSchemaErrorFormatter((errors, part) => {
    const e = errors[0]
    const where = `${part}${e?.instancePath ?? ''}`
    return new HttpError(400, 'bad_request', `${where} ${e?.message ?? 'is malformed'}`)
  })
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Blindfold inference API', version: '1.0.0', description: DESCRIPTION },
    },
    // components are named by their $id (ApiError, PublicModel, ...), not def-0, def-1, ...
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url }) => ({ schema: schema && typedBinaryBodies(schema), url }),
  })
  app.get(paths.openapi, { schema: documentRoute }, async () => app.swagger())
}

/**
 * A binary body's schema has no `type` nor `format` (Fastify validates the parsed Buffer against
 * it, and Ajv's strict mode warns of a format without a type); the document states what OpenAPI
 * expects of binary content: a string of format binary.
 */
function typedBinaryBodies(schema: FastifySchema): FastifySchema {
  const body = schema.body as { content?: Record<string, { schema?: Record<string, unknown> }> } | undefined
  if (!body?.content) return schema
  const content = Object.fromEntries(
    Object.entries(body.content).map(([type, media]) => [
      type,
      type === BINARY && media.schema && media.schema.type === undefined ? { ...media, schema: { type: 'string', format: 'binary', ...media.schema } } : media,
    ]),
  )
  return { ...schema, body: { ...body, content } }
}

