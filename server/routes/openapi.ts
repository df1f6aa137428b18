// A hand-written OpenAPI 3.1 description of the API, served as JSON.
import type { FastifyInstance } from 'fastify'
import { API_PREFIX, BINARY, headers } from '../../src/api/wire'

const error = { $ref: '#/components/schemas/ApiError' }
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [String(c), { description: 'ApiError', content: { 'application/json': { schema: error } } }]))
const binary = (description: string) => ({ description, content: { [BINARY]: { schema: { type: 'string', contentMediaType: BINARY } } } })

export const openapi = {
  openapi: '3.1.0',
  info: {
    title: 'Blindfold inference API',
    version: '1.0.0',
    description:
      'Classify CKKS-encrypted images. Bodies are Blindfold wire containers (BLFD | version | kind | sections of SEAL objects). ' +
      'The server never holds a secret key; every error body is { error: { code, message } }.',
  },
  paths: {
    [`${API_PREFIX}/models`]: {
      get: {
        summary: 'Public model descriptions (geometry, classes, HE parameters, rotation steps)',
        responses: { '200': { description: 'models', content: { 'application/json': { schema: { $ref: '#/components/schemas/ModelsResponse' } } } } },
      },
    },
    [`${API_PREFIX}/sessions`]: {
      post: {
        summary: 'Upload evaluation keys (relinearisation + Galois), validated before the session exists',
        parameters: [{ name: 'model', in: 'query', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, ...binary('evaluation-keys container (kind 1), at most 16 MB') },
        responses: {
          '201': { description: 'session', content: { 'application/json': { schema: { $ref: '#/components/schemas/SessionCreated' } } } },
          ...errors(400, 404, 413, 415, 429, 500, 503, 504),
        },
      },
    },
    [`${API_PREFIX}/sessions/{id}/classify`]: {
      post: {
        summary: 'Evaluate the model on one encrypted image',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, ...binary('request container (kind 2), at most 400 KB') },
        responses: {
          '200': {
            ...binary('response container (kind 3): encrypted logits'),
            headers: { [headers.serverMs]: { description: 'server evaluation time, ms', schema: { type: 'string' } } },
          },
          ...errors(400, 404, 413, 415, 429, 500, 503, 504),
        },
      },
    },
    [`${API_PREFIX}/sessions/{id}`]: {
      delete: {
        summary: 'Forget a session and its keys at once',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '204': { description: 'deleted' }, ...errors(404) },
      },
    },
    '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'ok' } } } },
    '/readyz': { get: { summary: 'Readiness: 503 until the workers have loaded the models', responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } } } },
  },
  components: {
    schemas: {
      ApiError: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
      },
      SessionCreated: {
        type: 'object',
        required: ['sessionId', 'model', 'expiresAt'],
        properties: { sessionId: { type: 'string' }, model: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } },
      },
      ModelsResponse: { type: 'object', required: ['models'], properties: { models: { type: 'array', items: { type: 'object' } } } },
    },
  },
} as const

export async function openapiRoutes(app: FastifyInstance): Promise<void> {
  app.get(`${API_PREFIX}/openapi.json`, async () => openapi)
}
