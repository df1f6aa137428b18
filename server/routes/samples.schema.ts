/**
 * GET /api/v1/models/{name}/samples and GET /api/v1/models/{name}/samples/{file}: the labelled
 * official test images a model ships for trying it out, public like the model list.
 */
import { Type } from '@sinclair/typebox'
import { SAMPLE_FILE_PATTERN, type SampleList } from '../../src/api/samples'
import { errorResponses, NoContent } from './common.schema'
import type { Equal } from './type-equal'

export const SampleListSchema = Type.Object(
  {
    model: Type.String(),
    dataset: Type.String({ description: 'the data set the images come from (empty when the model ships no samples)' }),
    source: Type.String({ description: 'its authors and where it is published' }),
    license: Type.String({ description: 'the terms the images come under' }),
    samples: Type.Array(
      Type.Object({
        file: Type.String({ pattern: SAMPLE_FILE_PATTERN.source }),
        url: Type.String({ description: 'GET it: image/png' }),
        label: Type.Integer({ minimum: 0, description: 'the true class (logit index)' }),
      }),
    ),
  },
  { $id: 'SampleList', description: "A model's sample images: official test images of its data set with their true classes" },
)
export const typeCheckSampleList: Equal<typeof SampleListSchema.static, SampleList> = true

/** Registered once (api-description.ts). */
export const sampleSchemas = [SampleListSchema]

const ModelName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'a model name as GET /api/v1/models lists it' })

export const listSamples = {
  summary: "A model's sample images",
  description: 'The labelled sample images of a served model (none when it ships none).',
  params: Type.Object({ name: ModelName }),
  response: { 200: Type.Ref(SampleListSchema), ...errorResponses(400, 404, 413, 414, 429) },
}

const cacheHeaders = {
  etag: { type: 'string' as const, description: "the file's SHA-256, quoted" },
  'cache-control': { type: 'string' as const, description: 'public, max-age=31536000, immutable: a name holds its content hash' },
}

export const getSample = {
  summary: 'One sample image',
  description:
    'The PNG file of a sample the list names. Its name holds its content hash, so it may be cached for good; If-None-Match with its ETag answers 304. ' +
    'A name that is not a sample file name (a path, a dot segment, another extension) is refused with 400 bad_request; a well-formed unknown one with 404 not_found.',
  params: Type.Object({ name: ModelName, file: Type.String({ maxLength: 80, pattern: SAMPLE_FILE_PATTERN.source }) }),
  response: {
    200: Type.Unsafe<Buffer>({ description: 'the image', headers: cacheHeaders, content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } }),
    304: NoContent('not modified (If-None-Match held the ETag)'),
    ...errorResponses(400, 404, 413, 414, 429),
  },
}
