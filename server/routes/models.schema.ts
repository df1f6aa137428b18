/**
 * GET /api/v1/models: the public description of every served model (geometry, classes, HE
 * parameters, the client description) with what it costs and accepts on this server.
 * Fastify serialises the answer with these schemas, so a field missing here would be missing
 * from the answer: the type checks below hold them to the TypeScript types the code builds.
 */
import { Type } from '@sinclair/typebox'
import type { ModelCost, ModelLimits, ModelsResponse } from '../../src/api/wire'
import type { PublicModel } from '../../src/he/public-model'
import type { InputSpec, LayerGeometry } from '../../src/model/manifest'
import { ClientDescriptionSchema, FrameSchema, HeParamsSchema } from './client.schema'
import { errorResponses } from './common.schema'
import type { Equal } from './type-equal'

const int = (description?: string) => Type.Integer({ minimum: 0, ...(description ? { description } : {}) })

export const InputSpecSchema = Type.Object(
  {
    height: int(),
    width: int(),
    channels: Type.Union([Type.Literal(1), Type.Literal(3)]),
    mean: Type.Array(Type.Number(), { description: 'per channel' }),
    std: Type.Array(Type.Number(), { description: 'per channel' }),
    preprocess: Type.Union([Type.Literal('ink-on-background'), Type.Literal('photo')], { description: 'what a client does to a picture before normalising it' }),
    frame: Type.Optional(Type.Ref(FrameSchema, { description: "'ink-on-background' only: the framing rule; client.normalisation.frame states it for every such model" })),
  },
  { $id: 'InputSpec', description: 'the network sees (pixel[c]/255 - mean[c])/std[c] of height x width pixels, HWC' },
)
export const typeCheckInputSpec: Equal<typeof InputSpecSchema.static, InputSpec> = true

export const LayerGeometrySchema = Type.Union(
  [
    Type.Object(
      {
        type: Type.Literal('conv2d'),
        kernel: int(),
        stride: int(),
        padding: int('zeros around the input, in normalised space'),
        filters: int(),
        groups: Type.Optional(int('absent means 1: input channels and filters split into this many equal groups, filter f reading only its group\'s channels; groups = input channels is depthwise')),
        packing: Type.Optional(Type.Union([Type.Literal('patches'), Type.Literal('image')], { description: "first layer only: how the client packs the input; absent means 'patches'. client.input.packing states it" })),
      },
      { description: 'a convolution; its weights and bias are not published' },
    ),
    Type.Object(
      {
        type: Type.Literal('avgpool2d'),
        size: int('window = stride = size, folded into the next linear layer'),
        stagger: Type.Optional(
          Type.Boolean({
            description:
              "absent means false. true: channel c's windows start q = c mod size^2 cells in, at (q div size, q mod size), reading zeros past the bottom and right edges; the server may then sum size^2 conv ciphertexts into one",
          }),
        ),
      },
      { description: 'average pooling' },
    ),
    Type.Object({ type: Type.Literal('square') }, { description: 'x^2; one level' }),
    Type.Object({ type: Type.Literal('poly') }, { description: 'a*x^2 + b*x + c per channel; the coefficients are trained, so not published; one level' }),
    Type.Object({ type: Type.Literal('dense'), units: int() }, { description: 'inputs in HWC order: (y*width + x)*channels + c; weights not published' }),
    Type.Object(
      { type: Type.Literal('bilinear'), units: int() },
      { description: 'last layer only, after a dense layer of 2 x units x K outputs x (half = units x K): logit i = sum over k < K of x[i + units*k] * x[half + i + units*k]; no weights; one level' },
    ),
  ],
  { $id: 'LayerGeometry', description: 'One layer without its weights' },
)
export const typeCheckLayerGeometry: Equal<typeof LayerGeometrySchema.static, LayerGeometry> = true

export const PublicModelSchema = Type.Object(
  {
    name: Type.String(),
    version: Type.String(),
    description: Type.String(),
    classes: Type.Array(Type.String(), { description: 'class o is logit o' }),
    input: Type.Ref(InputSpecSchema),
    layers: Type.Array(Type.Ref(LayerGeometrySchema)),
    he: Type.Ref(HeParamsSchema),
    plan: Type.Object({ rotationSteps: Type.Array(Type.Integer(), { description: 'the left-rotation steps the evaluation keys must cover (= client.keys GaloisKeys steps)' }) }),
    client: Type.Ref(ClientDescriptionSchema),
    contentHash: Type.String({ description: 'sha256 over the private manifest and the model file: identifies the model, reveals nothing of it' }),
  },
  { $id: 'PublicModel', description: 'What any client may see of a model: geometry, classes, HE parameters and the client description; never a weight' },
)
export const typeCheckPublicModel: Equal<typeof PublicModelSchema.static, PublicModel> = true

const bytesOrNull = (description: string) => Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description })

export const ModelCostSchema = Type.Object(
  {
    evaluationKeyBytes: bytesOrNull(
      'bytes of one evaluation-key upload: the median of the last 50 this server accepted for the model; before the first, the exact size of packed key sets (client.keys), what the page sends',
    ),
    requestBytes: bytesOrNull('bytes of one classification request: the median of the last 50 accepted; before the first, the exact size of a seeded, uncompressed request'),
    responseBytes: bytesOrNull(
      'bytes of one answer: the median of the last 50 sent; before the first, the size the server writes: 8 + client.response.sections x (4 + client.response.packed.bytes) (answers are packed ciphertexts, the same size every time)',
    ),
    serverMs: Type.Union([Type.Object({ median: Type.Number({ minimum: 0 }), samples: Type.Integer({ minimum: 1 }) }), Type.Null()], {
      description: 'worker time of one image, ms: the median of the last 50 classifications of this model on this server and how many that is; null before the first',
    }),
    measured: Type.Object(
      { evaluationKeys: Type.Boolean(), request: Type.Boolean(), response: Type.Boolean() },
      { description: "per byte size: true when it is the median of what this server saw, false while it is the plan's size" },
    ),
  },
  { $id: 'ModelCost', description: 'What a model costs on this server, measured' },
)
export const typeCheckModelCost: Equal<typeof ModelCostSchema.static, ModelCost> = true

export const ModelLimitsSchema = Type.Object(
  {
    evaluationKeyBytes: int('the largest evaluation-keys body POST /api/v1/sessions accepts for this model (larger: 413 body_too_large)'),
    requestBytes: int('the largest request body POST /api/v1/sessions/{id}/classify accepts for this model (larger: 413 body_too_large)'),
  },
  { $id: 'ModelLimits', description: 'The body sizes this server accepts for the model' },
)
export const typeCheckModelLimits: Equal<typeof ModelLimitsSchema.static, ModelLimits> = true

export const ServedModelSchema = Type.Intersect(
  [
    Type.Ref(PublicModelSchema),
    Type.Object({
      cost: Type.Ref(ModelCostSchema),
      limits: Type.Ref(ModelLimitsSchema),
      ready: Type.Boolean({ description: 'a worker has built the model: false while the server is still encoding its weights (its sessions then answer 503 model_loading)' }),
    }),
  ],
  {
    $id: 'ServedModel',
    description: 'A public model description with what it costs and accepts on this server, and whether it is served yet',
  },
)

export const ModelsResponseSchema = Type.Object({ models: Type.Array(Type.Ref(ServedModelSchema)) }, { $id: 'ModelsResponse' })
export const typeCheckModelsResponse: Equal<typeof ModelsResponseSchema.static, ModelsResponse> = true

/** Registered once (api-description.ts), in an order where each comes after what it refers to. */
export const modelSchemas = [HeParamsSchema, FrameSchema, InputSpecSchema, LayerGeometrySchema, ClientDescriptionSchema, PublicModelSchema, ModelCostSchema, ModelLimitsSchema, ServedModelSchema, ModelsResponseSchema]

export const listModels = {
  summary: 'The served models',
  description:
    'Every model this server serves: its public description (geometry, classes, HE parameters and `client`, the machine-readable description a client is built from), what it costs here and the body sizes accepted for it. No weight.',
  response: { 200: Type.Ref(ModelsResponseSchema), ...errorResponses(413, 429) },
}
