/**
 * An imported model is served: a committed fixture, imported by the importer into a models
 * folder beside a shipped model, is listed by the real server process (server/main.ts with
 * MODELS_DIR) with the public description of the manifest the importer wrote, and classifies
 * images through the API (keys made from that listing, encrypted requests, decrypted answers)
 * with ONNX Runtime's class on the original .onnx file; the pictures `--samples` gave it are
 * served as its examples.
 */
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { samplePaths, type SampleList } from '../../../src/api/samples'
import { publicModel } from '../../../src/he/public-model'
import { KeyOwner } from '../../../src/he/key-owner'
import { BINARY, paths, type ModelsResponse, type SessionCreated } from '../../../src/api/wire'
import { argmax, normalise } from '../../../src/model/forward'
import { startApiReplica, type ServiceProcess } from '../../../server/test-support/processes'
import { freePort } from '../../../server/test-support/redis'
import { importFixture, ortClasses, writePictureFolder, type ImportedFixture } from './imported-fixture'
import { sampleImages } from './reference-check'

const NAME = 'imported-rgb'
const CLASSES = ['cat', 'dog', 'bird']

let imported: ImportedFixture
let server: ServiceProcess
let base: string
let pictures: string

beforeAll(async () => {
  pictures = writePictureFolder(CLASSES, 8)
  imported = await importFixture('rgb-stride2-bn-pow-two-dense', { name: NAME, classes: CLASSES, preprocess: 'photo', shipped: ['mnist-cnn'], samples: pictures, encryptedImages: 1 })
  const port = await freePort()
  server = await startApiReplica(port, { MODELS_DIR: imported.dir, POOL_SIZE: '1' }, 180_000)
  base = `http://127.0.0.1:${port}`
}, 300_000)

afterAll(async () => {
  await server?.stop()
  imported?.remove()
  if (pictures) rmSync(pictures, { recursive: true, force: true })
})

const listed = async () => ((await (await fetch(`${base}${paths.models}`)).json()) as ModelsResponse).models

describe('an imported model on the real server', () => {
  it('is listed beside the shipped model with the public description of its manifest', async () => {
    const models = await listed()
    expect(models.map((m) => m.name).sort()).toEqual(['mnist-cnn', NAME].sort())
    const model = models.find((m) => m.name === NAME)!
    // every field of the description; the server adds what it measures (cost, limits) beside them
    expect(model).toMatchObject(publicModel(imported.model.manifest))
    expect(model.classes).toEqual(CLASSES)
    expect(model.description).toContain('rgb-stride2-bn-pow-two-dense.onnx')
    expect(model.cost.evaluationKeyBytes).toBeGreaterThan(0)
    expect(model.limits.requestBytes).toBeGreaterThan(0)
  })

  it("classifies images through the API with ONNX Runtime's class on the original file", async () => {
    const model = (await listed()).find((m) => m.name === NAME)!
    const images = sampleImages(imported.model.manifest, 3, 11)
    const expected = await ortClasses(imported.onnx, imported.model.manifest, images)
    const owner = await KeyOwner.create(model)
    try {
      const created = await fetch(`${base}${paths.sessions}?model=${NAME}`, { method: 'POST', headers: { 'content-type': BINARY }, body: owner.evaluationKeys })
      expect(created.status).toBe(201)
      const { sessionId } = (await created.json()) as SessionCreated
      const got: number[] = []
      for (const pixels of images) {
        const r = await fetch(`${base}${paths.classify(sessionId)}`, { method: 'POST', headers: { 'content-type': BINARY }, body: owner.encrypt(normalise(pixels, model)) })
        expect(r.status).toBe(200)
        got.push(argmax(owner.decrypt(new Uint8Array(await r.arrayBuffer()))))
      }
      expect(got).toEqual(expected)
    } finally {
      owner.dispose()
    }
  })

  it('serves the pictures --samples gave it as its examples, from the models folder it was loaded from', async () => {
    const list = (await (await fetch(`${base}${samplePaths.list(NAME)}`)).json()) as SampleList
    expect(list.samples.map((x) => x.label)).toEqual([0, 0, 1, 1, 2, 2])
    const png = await fetch(`${base}${list.samples[0].url}`)
    expect(png.status).toBe(200)
    expect(png.headers.get('content-type')).toBe('image/png')
    // the shipped model beside it keeps its own
    const shipped = (await (await fetch(`${base}${samplePaths.list('mnist-cnn')}`)).json()) as SampleList
    expect(shipped.samples.length).toBeGreaterThan(0)
  })
})
