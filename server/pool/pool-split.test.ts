/**
 * One image on several workers (SPLIT_IMAGES=auto, the default): through the real pool threads, the shared answer equals the plaintext
 * reference; under load each image keeps one worker; a worker dying mid-image
 * fails that image with 500 worker_crashed (never a wrong answer) and the pool
 * serves on; a cancelled shared image stops in every part, which all stay in
 * service. A small random net at N = 16384 stands in for CIFAR-10 (its own
 * tests load the shipped one), so the test costs seconds, not minutes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { randomUUID } from 'node:crypto'
import { BINARY, headers, paths, type JobProgress } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { argmax, forward } from '../../src/model/forward'
import { publicModel } from '../../src/he/public-model'
import { randomModelFiles, SMALL_DEEP_NET } from '../../src/he/random-model'
import { buildApp } from '../app'
import { digits, errorCode, newSession, postClassify, postKeys, until, poolOf } from '../test-support/harness'
import { InjectedFaults } from '../test-support/faults'
import { testModels } from '../test-support/models'

const files = randomModelFiles({ ...SMALL_DEEP_NET, name: 'random-deep', seed: 11 })
const image = (k: number) => Float32Array.from({ length: 16 * 16 * 3 }, (_, i) => Math.cos(i * 0.13 + k))
const TOLERANCE = 1e-3

describe('one image across pool workers', () => {
  let app: FastifyInstance
  const faults = new InjectedFaults()
  let owner: KeyOwner
  let session: string
  let keyTransfersAtUpload: number

  beforeAll(async () => {
    const models = new Map([...(await testModels()), [files.manifest.name, files]])
    // N = 16384 images: those that wait behind a shared one must not meet the queue-wait bound on a busy machine
    app = await buildApp({ models, poolSize: 2, rateLimitMax: 0, queueWaitMs: 600_000, faults })
    await poolOf(app).ready
    owner = await KeyOwner.create(publicModel(files.manifest))
    const created = await postKeys(app, owner.evaluationKeys, files.manifest.name)
    expect(created.statusCode).toBe(201)
    session = created.json().sessionId
    // once the keys are valid, the other idle worker loads them too (key-warm.ts)
    await until(() => poolOf(app).busyWorkers().length === 0, 'the keys loaded ahead')
    keyTransfersAtUpload = poolOf(app).stats.keyTransfers
  })
  afterAll(async () => {
    owner?.dispose()
    await app?.close()
  })

  const classify = async (k: number) => {
    const x = image(k)
    const r = await postClassify(app, session, owner.encrypt(x))
    if (r.statusCode !== 200) return { status: r.statusCode, code: errorCode(r), workers: 0, error: Infinity }
    const logits = owner.decrypt(new Uint8Array(r.rawPayload))
    const reference = forward(files.manifest, files.weights, x)
    const scale = Math.max(1, ...reference.map(Math.abs))
    const error = Math.max(...reference.map((v, o) => Math.abs(logits[o] - v) / scale))
    return { status: 200, code: undefined, workers: Number(r.headers[headers.serverWorkers]), error }
  }

  it('shares an image with every idle worker and answers like the plaintext model', async () => {
    for (let k = 0; k < 3; k++) {
      const r = await classify(k)
      expect(r.status).toBe(200)
      expect(r.workers).toBe(2)
      expect(r.error).toBeLessThan(TOLERANCE)
    }
    expect(poolOf(app).stats.splitImages).toBe(3)
  })

  it('loads the keys into every idle worker at upload, so shared images carry no keys', () => {
    expect(keyTransfersAtUpload).toBe(2)
    expect(poolOf(app).stats.keyTransfers).toBe(keyTransfersAtUpload)
  })

  it('keeps one worker an image when images wait', async () => {
    const results = await Promise.all([3, 4, 5, 6].map(classify))
    for (const r of results) {
      expect(r.status).toBe(200)
      expect(r.error).toBeLessThan(TOLERANCE)
    }
    // the first may be shared (the queue was empty); while others wait, images run one a worker
    expect(results.filter((r) => r.workers === 1).length).toBeGreaterThanOrEqual(2)
  })

  it('reports a shared image\'s progress from its lead, and a cancel stops every part without a replacement', async () => {
    // runs before the crash test, whose replacement worker may still be loading when it ends (an image is shared by ready workers only)
    const pool = poolOf(app)
    const replaced = pool.stats.replaced
    const requestId = randomUUID()
    const progress = async () => (await app.inject({ method: 'GET', url: paths.job(session, requestId) })).json() as JobProgress
    faults.slowStages(30_000)
    try {
      const request = owner.encrypt(image(9))
      const post = app.inject({
        method: 'POST',
        url: paths.classify(session),
        headers: { 'content-type': BINARY, [headers.requestId]: requestId },
        payload: Buffer.from(request.buffer, request.byteOffset, request.byteLength),
      })
      // the lead has finished a stage and sleeps in the test hook; its peer waits for it
      await until(() => pool.busyWorkers().length === 2, 'both workers on the image')
      let p = await progress()
      while (!(p.state === 'running' && p.done >= 1)) {
        await new Promise((r) => setTimeout(r, 10))
        p = await progress()
      }
      expect(p.stage).toBe(app.blindfold.models.get(files.manifest.name)!.stageNames[p.done])
      expect((await app.inject({ method: 'DELETE', url: paths.job(session, requestId) })).statusCode).toBe(204)
      const r = await post
      expect(r.statusCode).toBe(409)
      expect(errorCode(r)).toBe('cancelled')
      await until(() => pool.busyWorkers().length === 0, 'every part stopped')
    } finally {
      faults.slowStages(0)
    }
    expect(pool.stats.replaced).toBe(replaced)
    const after = await classify(10)
    expect(after.status).toBe(200)
    expect(after.workers).toBe(2)
    expect(after.error).toBeLessThan(TOLERANCE)
  })

  it('shares an N = 8192 image too, and holds each body to its own model\'s limit', async () => {
    // before the crash test too: its replacement worker may still be loading when it ends
    const mnist = app.blindfold.models.get('mnist-cnn')!
    const mnistOwner = await KeyOwner.create(publicModel(mnist.manifest))
    try {
      const mnistSession = await newSession(app, mnistOwner)
      await until(() => poolOf(app).busyWorkers().length === 0, 'the keys loaded ahead')
      const [d] = digits(mnist, 0, 1)
      const r = await postClassify(app, mnistSession, mnistOwner.encrypt(d.x))
      expect(r.statusCode).toBe(200)
      expect(r.headers[headers.serverWorkers]).toBe('2')
      expect(argmax(mnistOwner.decrypt(new Uint8Array(r.rawPayload)))).toBe(argmax(forward(mnist.manifest, mnist.weights, d.x)))
      // the classify route admits the deep model's ~0.6 MB requests, but an MNIST session keeps its 400 KB
      expect(mnist.limits.request).toBe(400 * 1024)
      const big = await postClassify(app, mnistSession, new Uint8Array(mnist.limits.request + 1))
      expect(big.statusCode).toBe(413)
      expect(errorCode(big)).toBe('body_too_large')
      expect(app.blindfold.models.get(files.manifest.name)!.limits.request).toBeGreaterThan(mnist.limits.request)
    } finally {
      mnistOwner.dispose()
    }
  })

  it('a worker dying mid-image fails that image with worker_crashed, then shared images work again', async () => {
    const pool = poolOf(app)
    faults.crashNextJob()
    const crashed = await classify(7)
    expect(crashed.status).toBe(500)
    expect(crashed.code).toBe('worker_crashed')
    await until(() => pool.workers().length === 2 && pool.isReady() && pool.busyWorkers().length === 0, 'the replacement worker')
    await until(() => pool.stats.replaced >= 1, 'a replacement')
    const after = await classify(8)
    expect(after.status).toBe(200)
    expect(after.error).toBeLessThan(TOLERANCE)
  })
})
