// GET /models/{name}/samples and /models/{name}/samples/{file}: each served model's sample images, read once at start and answered from memory.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { API_PREFIX } from '../../src/api/wire'
import { HttpError } from '../http/http-error'
import { MODELS_DIR } from '../../src/datasets/model-files'
import { readSamples, type ModelSamples } from './sample-catalog'
import { getSample, listSamples } from './samples.schema'

export interface SampleRoutesOptions {
  /** the directory holding one folder per model (default server/models) */
  root?: string
}

export async function sampleRoutes(fastify: FastifyInstance, options: SampleRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const root = options.root ?? MODELS_DIR
  const catalog = new Map<string, ModelSamples>()
  for (const [name, m] of app.blindfold.models) catalog.set(name, readSamples(`${root}/${name}`, name, m.manifest.classes.length))

  const samplesOf = (name: string): ModelSamples => {
    const found = catalog.get(name)
    if (!found) throw new HttpError(404, 'unknown_model', 'no such model')
    return found
  }

  app.get(`${API_PREFIX}/models/:name/samples`, { schema: listSamples }, async (request) => samplesOf(request.params.name).list)

  app.get(`${API_PREFIX}/models/:name/samples/:file`, { schema: getSample }, async (request, reply) => {
    const sample = samplesOf(request.params.name).files.get(request.params.file)
    if (!sample) throw new HttpError(404, 'not_found', 'no such sample')
    reply.header('etag', sample.etag).header('cache-control', 'public, max-age=31536000, immutable')
    if (request.headers['if-none-match'] === sample.etag) return reply.code(304).send()
    return reply.type('image/png').send(sample.bytes)
  })
}
