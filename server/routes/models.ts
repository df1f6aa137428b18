// GET /models: public manifests only (geometry, classes, HE parameters), never weights, each with its measured cost.
import type { FastifyInstance } from 'fastify'
import { paths, type ModelsResponse } from '../../src/api/wire'
import { publicModel } from '../../src/model/manifest'

export async function modelRoutes(app: FastifyInstance): Promise<void> {
  const { models, costs } = app.blindfold
  // publicModel caches the client description; a cost is a few medians of at most 50 numbers
  app.get(paths.models, async (): Promise<ModelsResponse> => ({
    models: [...models.values()].map((m) => ({ ...publicModel(m.manifest), cost: costs.cost(m.manifest.name) })),
  }))
}
