// GET /models: public manifests only (geometry, classes, HE parameters), never weights, each with its measured cost, body limits and readiness.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { paths, type ModelsResponse } from '../../src/api/wire'
import { modelServed } from '../backend/contract'
import { listModels } from './models.schema'

export async function modelRoutes(app: FastifyInstance): Promise<void> {
  const { models, costs, evaluation } = app.blindfold
  // each description was made once at start (backend.ts); a cost is a few medians of at most 50 numbers
  app.withTypeProvider<TypeBoxTypeProvider>().get(paths.models, { schema: listModels }, async (): Promise<ModelsResponse> => ({
    models: [...models.values()].map((m) => ({
      ...m.description,
      cost: costs.cost(m.manifest.name),
      limits: { evaluationKeyBytes: m.limits.keys, requestBytes: m.limits.request },
      ready: modelServed(evaluation, m.manifest.name),
    })),
  }))
}
