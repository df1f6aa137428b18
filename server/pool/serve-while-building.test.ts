/**
 * Per-model readiness with real worker threads: the pool serves a small model while a larger one
 * is still being built (its build held by the test, so nothing depends on timing), /readyz
 * answers 200 with each model's readiness (503 with all=true), the model list flags each model,
 * and a session for the model still building answers 503 model_loading with Retry-After. Once the build goes on, every
 * model is served and the pool's `ready` settles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { paths, type ModelsResponse } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { publicModel } from '../../src/he/public-model'
import { randomModelFiles } from '../../src/he/random-model'
import { buildApp } from '../app'
import { InjectedFaults } from '../test-support/faults'
import { errorCode, newSession, postKeys, poolOf, until } from '../test-support/harness'
import { buildOrder } from './build-order'

const small = randomModelFiles({ name: 'small-net', filters: 2, seed: 1 })
const large = randomModelFiles({ name: 'large-net', filters: 16, seed: 2 })

describe('a model is served while a larger one is still building', () => {
  const faults = new InjectedFaults(large.manifest.name)
  let app: FastifyInstance
  beforeAll(async () => {
    // two workers: one builds the held model, the other keeps serving the small one
    app = await buildApp({ models: new Map([large, small].map((m) => [m.manifest.name, m])), poolSize: 2, rateLimitMax: 0, faults })
  })
  afterAll(async () => {
    faults.releaseBuild()
    await app?.close()
  })

  it('builds the cheaper model first', () => {
    expect(buildOrder([large.manifest, small.manifest])).toEqual(['small-net', 'large-net'])
  })

  it('answers readiness per model and serves the built one', async () => {
    const pool = poolOf(app)
    await until(() => pool.modelReady('small-net'), 'the small model built')
    expect(pool.modelReady('large-net')).toBe(false)

    const ready = await app.inject({ method: 'GET', url: paths.ready })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({
      ready: true,
      models: [
        { name: 'large-net', ready: false },
        { name: 'small-net', ready: true },
      ],
    })
    // a harness that needs every model asks for all of them
    const all = await app.inject({ method: 'GET', url: `${paths.ready}?all=true` })
    expect(all.statusCode).toBe(503)
    expect(errorCode(all)).toBe('not_ready')
    const list = (await app.inject({ method: 'GET', url: paths.models })).json() as ModelsResponse
    expect(Object.fromEntries(list.models.map((m) => [m.name, m.ready]))).toEqual({ 'large-net': false, 'small-net': true })

    // the small model takes sessions (a worker checks the keys) while the large one builds
    const owner = await KeyOwner.create(publicModel(small.manifest))
    try {
      expect(await newSession(app, owner)).toMatch(/./)
    } finally {
      owner.dispose()
    }
    const waiting = await KeyOwner.create(publicModel(large.manifest))
    try {
      const r = await postKeys(app, waiting.evaluationKeys, 'large-net')
      expect(r.statusCode).toBe(503)
      expect(errorCode(r)).toBe('model_loading')
      expect(r.headers['retry-after']).toBeDefined()
    } finally {
      waiting.dispose()
    }
  })

  it('serves every model once the held build goes on', async () => {
    faults.releaseBuild()
    await poolOf(app).ready
    const ready = await app.inject({ method: 'GET', url: `${paths.ready}?all=true` })
    expect(ready.statusCode).toBe(200)
    expect((ready.json() as { models: Array<{ ready: boolean }> }).models.every((m) => m.ready)).toBe(true)
    const list = (await app.inject({ method: 'GET', url: paths.models })).json() as ModelsResponse
    expect(list.models.every((m) => m.ready)).toBe(true)
  })
})
