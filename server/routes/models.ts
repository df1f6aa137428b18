// GET /models: public manifests only (geometry, classes, HE parameters), never weights.
import type { FastifyInstance } from 'fastify'
import { paths, type ModelsResponse } from '../../src/api/wire'
import { publicModel } from '../../src/model/manifest'

export async function modelRoutes(app: FastifyInstance): Promise<void> {
  app.get(paths.models, async (): Promise<ModelsResponse> => ({
    models: [...app.blindfold.models.values()].map((m) => publicModel(m.manifest)),
  }))
}
