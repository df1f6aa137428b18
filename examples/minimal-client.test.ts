/**
 * The minimal client (examples/minimal-client.ts, written from the public
 * documents only) against the real server on loopback: for every model the
 * server publishes — the shipped ones, a random-weight model with 'patches'
 * packing added here so both input rules run end to end, and a model imported
 * from an ONNX fixture by model:import — it classifies official test images of
 * the model's data set (seeded pictures for the imported one, which has none)
 * with the same answer and logits as the plaintext reference, and for the
 * imported model with ONNX Runtime's class on the original file. The test (not
 * the client) may import the project.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { FastifyInstance } from 'fastify'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { imageAt, loadSplit } from '../src/datasets'
import { importFixture, ortClasses } from '../scripts/training/onnx/imported-fixture'
import { sampleImages } from '../scripts/training/onnx/reference-check'
import { loadModels } from '../src/datasets/model-files'
import { startApp } from '../server/test-support/harness'
import { randomModel } from '../server/test-support/models'
import { layoutInput as referenceLayout } from '../src/he/client-spec'
import { argmax, forward, normalise } from '../src/model/forward'
import { publicModel } from '../src/he/public-model'
import { DEFAULT_HE_PARAMS } from '../src/he/params'
import { randomModel as randomGeometry } from '../src/he/random-model'
import { classifyWithPublicDescription, createClient, layoutInput, normalise as exampleNormalise, readPixels, type PublicDescription } from './minimal-client'

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
/** a three-class photo model imported from ONNX (two convs, two pools, a polynomial), served beside them */
const IMPORTED = 'imported-pools'
const imported = await importFixture('two-convs-two-pools', { name: IMPORTED, classes: ['apple', 'pear', 'plum'], preprocess: 'photo', encryptedImages: 1 })

beforeAll(async () => {
  const models = new Map(shipped)
  const patches = await randomModel('random-cnn-patches', 8, 3)
  models.set(patches.manifest.name, patches)
  models.set(IMPORTED, imported.model)
  ;({ app } = await startApp({ models, rateLimitMax: 0 }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  published = ((await (await fetch(`${baseUrl}/api/v1/models`)).json()) as { models: PublicDescription[] }).models
})

afterAll(async () => {
  await app?.close()
  imported.remove()
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

  it(`classifies ${IMAGES} pictures with ${IMPORTED}, imported from ONNX, as ONNX Runtime does on the original file`, async () => {
    const { manifest, weights } = imported.model
    const pictures = sampleImages(manifest, IMAGES, 3)
    const expected = await ortClasses(imported.onnx, manifest, pictures)
    const client = await createClient(baseUrl, IMPORTED)
    let worst = 0
    try {
      expect(client.model.classes).toEqual(['apple', 'pear', 'plum'])
      expect(client.model.client.normalisation).toMatchObject({ height: 8, width: 8, channels: 3 })
      for (const [i, pixels] of pictures.entries()) {
        const logits = await client.classify(pixels)
        expect(argmax(logits), `picture ${i}`).toBe(expected[i])
        const reference = forward(manifest, weights, normalise(pixels, manifest))
        for (let o = 0; o < logits.length; o++) worst = Math.max(worst, Math.abs(logits[o] - reference[o]))
      }
    } finally {
      await client.close()
    }
    expect(worst).toBeLessThan(TOLERANCE)
  })

  it(`classifies a PPM picture with ${IMPORTED} from the command line`, async () => {
    const { manifest } = imported.model
    const [pixels] = sampleImages(manifest, 1, 4)
    const [expected] = await ortClasses(imported.onnx, manifest, [pixels])
    const dir = mkdtempSync(join(tmpdir(), 'blindfold-ppm-'))
    try {
      const file = join(dir, 'picture.ppm')
      writeFileSync(file, new Uint8Array([...new TextEncoder().encode('P6\n8 8\n255\n'), ...pixels]))
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/minimal-client.ts', '--url', baseUrl, '--model', IMPORTED, file], {
        cwd: join(import.meta.dirname, '..'),
      })
      expect(stdout).toContain(`${file}: ${imported.model.manifest.classes[expected]} `)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('reads PGM, PPM and raw pixels as the model description sizes them', () => {
    const rgb = Uint8Array.from({ length: 2 * 3 * 3 }, (_, i) => i * 7)
    const ppm = new Uint8Array([...new TextEncoder().encode('P6\n# two by three\n3 2\n255\n'), ...rgb])
    expect(Array.from(readPixels(ppm, 2, 3, 3))).toEqual(Array.from(rgb))
    expect(Array.from(readPixels(rgb, 2, 3, 3))).toEqual(Array.from(rgb))
    const grey = rgb.subarray(0, 6)
    expect(Array.from(readPixels(new Uint8Array([...new TextEncoder().encode('P5 3 2 255\n'), ...grey]), 2, 3))).toEqual(Array.from(grey))
    expect(() => readPixels(ppm, 2, 3)).toThrow(/PGM/)
    expect(() => readPixels(ppm.subarray(0, ppm.length - 1), 2, 3, 3)).toThrow(/truncated/)
    expect(() => readPixels(grey, 2, 3, 3)).toThrow(/18 raw bytes/)
  })

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
