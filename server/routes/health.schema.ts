// The probes: liveness and readiness, free of the rate limit.
import { Type } from '@sinclair/typebox'
import { ApiErrorSchema, errorResponses } from './common.schema'

export const health = {
  summary: 'Liveness',
  description: 'The process answers. Not rate-limited.',
  response: { 200: Type.Object({ status: Type.Literal('ok') }), ...errorResponses(413) },
}

export const ready = {
  summary: 'Readiness',
  description:
    'Whether the server can classify: its workers have loaded the models (distributed mode: Redis answers and an evaluator serves the queue). No counts. Not rate-limited.',
  response: {
    200: Type.Object({ ready: Type.Literal(true) }, { description: 'ready' }),
    503: Type.Object(
      { ready: Type.Literal(false), error: ApiErrorSchema.properties.error },
      { description: 'not ready: error.code not_ready, error.message says why (loading, workers failed to start, Redis or evaluators missing)' },
    ),
    ...errorResponses(413),
  },
}
