// The probes: liveness and readiness, free of the rate limit.
import { Type } from '@sinclair/typebox'
import { ApiErrorSchema, errorResponses } from './common.schema'

export const health = {
  summary: 'Liveness',
  description: 'The process answers. Not rate-limited.',
  response: { 200: Type.Object({ status: Type.Literal('ok') }), ...errorResponses(413) },
}

const ModelReadiness = Type.Array(
  Type.Object({ name: Type.String(), ready: Type.Boolean({ description: 'a worker has built the model: its sessions and classifications are taken' }) }),
  { description: 'every model this server serves, in the order of GET /api/v1/models' },
)

export const ready = {
  summary: 'Readiness',
  querystring: Type.Object({
    all: Type.Optional(Type.Boolean({ description: 'true: 200 only once every model is served (a test harness or a deploy step that needs them all)' })),
  }),
  description:
    'Whether the server can classify: 200 as soon as a worker has built one model (the smallest models are built first; a load balancer sends traffic from then on, and a model still being built answers 503 model_loading), with each model\'s readiness (distributed mode: Redis answers and an evaluator serves the queue, every model at once). No counts. Not rate-limited.',
  response: {
    200: Type.Object({ ready: Type.Literal(true), models: ModelReadiness }, { description: 'ready: at least one model is served (with all=true: every model)' }),
    503: Type.Object(
      { ready: Type.Literal(false), error: ApiErrorSchema.properties.error, models: ModelReadiness },
      { description: 'not ready: error.code not_ready, error.message says why (loading, workers failed to start, Redis or evaluators missing)' },
    ),
    ...errorResponses(413),
  },
}
