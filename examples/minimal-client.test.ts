/**
 * The minimal client (examples/minimal-client.ts, written from the public
 * documents only) against the real server on loopback: for every model the
 * server publishes — the shipped ones, and a random-weight model with 'patches'
 * packing added here so both input rules run end to end — it classifies
 * official test images of the model's data set with the same answer and
 * logits as the plaintext reference. The test (not the client) may import the project.
 */
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { imageAt, loadSplit } from '../src/datasets'
import { loadModels } from '../src/datasets/model-files'
import { startApp } from '../server/test-support/harness'
import { randomModel } from '../server/test-support/models'
import { layoutInput as referenceLayout } from '../src/he/client-spec'
import { argmax, forward, normalise } from '../src/model/forward'
import { publicModel } from '../src/he/public-model'
import { DEFAULT_HE_PARAMS } from '../src/he/params'
import { randomModel as randomGeometry } from '../src/he/random-model'
import { classifyWithPublicDescription, createClient, layoutInput, normalise as exampleNormalise, type PublicDescription } from './minimal-client'

const IMAGES = 10
const TOLERANCE = 1e-3

let app: FastifyInstance
let baseUrl: string
let published: PublicDescription[]
const mnist = loadSplit('mnist', 'test')
const pixelsOf = (i: number) => imageAt(mnist, i)
/** every shipped model, plus the random 'patches' model the test adds */
const shipped = await loadModels()
const served = [...shipped.keys(), 'random-cnn-patches']

beforeAll(async () => {
  const models = new Map(shipped)
  const patches = await randomModel('random-cnn-patches', 8, 3)
  models.set(patches.manifest.name, patches)
  ;({ app } = await startApp({ models, rateLimitMax: 0 }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  published = ((await (await fetch(`${baseUrl}/api/v1/models`)).json()) as { models: PublicDescription[] }).models
})

afterAll(async () => {
  await app?.close()
})

describe('minimal client from the public description', () => {
  it('finds every served model, both packings among them', () => {
    expect(published.map((m) => m.name).sort()).toEqual([...app.blindfold.models.keys()].sort())
    expect(new Set(published.map((m) => m.client.input.packing))).toEqual(new Set(['image', 'patches']))
  })

  it('reads a /models answer that the OpenAPI document describes', async () => {
    const doc = (await (await fetch(`${baseUrl}/api/v1/openapi.json`)).json()) as object
    expect(doc).toEqual(JSON.parse(JSON.stringify(app.swagger())))
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true })
    ajv.addSchema(doc, 'api')
    const validate = ajv.getSchema('api#/components/schemas/ModelsResponse')!
    const body = await (await fetch(`${baseUrl}/api/v1/models`)).json()
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true)
    // and the schema is not vacuous: a description without its input rule fails
    const broken = structuredClone(body) as { models: Array<{ client: { input: Record<string, unknown> } }> }
    delete broken.models[0].client.input.blocksPerCiphertext
    expect(validate(broken)).toBe(false)
  })

  it('lays out inputs exactly as the project does, for both packings', () => {
    const image = (n: number, m: PublicDescription) =>
      Float64Array.from({ length: m.client.normalisation.height * m.client.normalisation.width * m.client.normalisation.channels }, (_, i) => ((i * 37 + n) % 255) / 100 - 1)
    const geometries = [
      ...published,
      ...[
        { kernel: 5, stride: 1, filters: 40, packing: 'image' as const },
        { kernel: 3, stride: 1, filters: 2, packing: 'image' as const },
        { kernel: 7, stride: 3, filters: 64 },
        { kernel: 4, stride: 2, filters: 30 },
        {
          input: { height: 32, width: 32, channels: 3 as const },
          layers: [{ type: 'conv2d' as const, kernel: 5, stride: 2, padding: 2, filters: 16 }, { type: 'square' as const }, { type: 'dense' as const, units: 10 }],
          he: { ...DEFAULT_HE_PARAMS, polyModulusDegree: 16384, coeffModulusBits: [60, 40, 40, 40, 60], scaleBits: 40 },
        },
      ].map((o) => publicModel(randomGeometry(o).manifest) as unknown as PublicDescription),
    ]
    for (const [n, m] of geometries.entries()) {
      const mine = layoutInput(m.client, image(n, m))
      const theirs = referenceLayout(m.client as never, image(n, m))
      expect(mine.map((v) => Array.from(v))).toEqual(theirs.map((v) => Array.from(v)))
    }
  })

  for (const name of served) {
    const dataset = shipped.get(name)?.manifest.dataset ?? 'mnist'
    it(`classifies ${IMAGES} official ${dataset} test images with ${name} as the plaintext reference does`, async () => {
      const { manifest, weights } = app.blindfold.models.get(name)!
      const test = loadSplit(dataset, 'test')
      const client = await createClient(baseUrl, name)
      let worst = 0
      try {
        for (let i = 0; i < IMAGES; i++) {
          const pixels = imageAt(test, i)
          const x = normalise(pixels, manifest)
          expect(Array.from(exampleNormalise(pixels, client.model.client.normalisation))).toEqual(Array.from(x))
          const reference = forward(manifest, weights, x)
          const logits = await client.classify(pixels)
          expect(logits.length).toBe(reference.length)
          expect(argmax(logits), `image ${i}`).toBe(argmax(reference))
          for (let o = 0; o < logits.length; o++) worst = Math.max(worst, Math.abs(logits[o] - reference[o]))
        }
      } finally {
        await client.close()
      }
      console.log(`${name}: max |logit - reference| over ${IMAGES} images = ${worst.toExponential(2)}`)
      expect(worst).toBeLessThan(TOLERANCE)
    })
  }

  it('classifies one image in one call (classifyWithPublicDescription)', async () => {
    const { manifest, weights } = app.blindfold.models.get('mnist-cnn')!
    const index = 11
    const reference = forward(manifest, weights, normalise(pixelsOf(index), manifest))
    const result = await classifyWithPublicDescription(baseUrl, 'mnist-cnn', pixelsOf(index))
    expect(result.predicted).toBe(argmax(reference))
    expect(result.label).toBe(manifest.classes[argmax(reference)])
    expect(mnist.labels[index]).toBe(result.predicted) // image 11 is an easy 6
  })
})
