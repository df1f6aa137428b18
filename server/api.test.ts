import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { KeyOwner } from '../src/he/key-owner'
import { paths } from '../src/api/wire'
import type { ModelFiles } from '../src/datasets/model-files'
import { classifyDigit, digits, errorCode, newSession, postClassify, publicModelOf, startApp, poolOf } from './test-support/harness'
import { CONTENT_SECURITY_POLICY } from './http/security-headers'

let app: FastifyInstance
let model: ModelFiles
let owner: KeyOwner

beforeAll(async () => {
  ;({ app, model } = await startApp({ poolSize: 1 }))
  owner = await KeyOwner.create(await publicModelOf(app))
})
afterAll(async () => {
  owner?.dispose()
  await app?.close()
})

describe('API happy path', () => {
  it('lists public models without weights', async () => {
    const r = await app.inject({ method: 'GET', url: paths.models })
    expect(r.statusCode).toBe(200)
    const body = r.json()
    expect(body.models[0].name).toBe(model.manifest.name)
    // no weights object, no tensor names, no weight values
    const text = JSON.stringify(body)
    expect(text).not.toContain('"weights"')
    for (const t of model.manifest.weights.tensors) expect(text).not.toContain(t.name)
    expect(text).not.toContain(model.manifest.weights.sha256)
    expect(body.models[0].plan.rotationSteps).toEqual(model.manifest.plan.rotationSteps)
  })

  it('classifies official MNIST test digits like the plaintext model', async () => {
    const session = await newSession(app, owner)
    for (const d of digits(model, 0, 4)) {
      const r = await classifyDigit(app, owner, session, d.x)
      expect(r.status).toBe(200)
      expect(Number(r.serverMs)).toBeGreaterThan(0)
      expect(r.predicted, `digit #${d.index}`).toBe(d.expected)
    }
  })

  it('forgets a deleted session at once, here and in the workers', async () => {
    const session = await newSession(app, owner)
    const del = await app.inject({ method: 'DELETE', url: paths.session(session) })
    expect(del.statusCode).toBe(204)
    const again = await postClassify(app, session, owner.encrypt(digits(model, 0, 1)[0].x))
    expect(again.statusCode).toBe(404)
    expect(errorCode(again)).toBe('unknown_session')
    expect((await app.inject({ method: 'DELETE', url: paths.session(session) })).statusCode).toBe(404)
  })

  it('answers health, readiness and the OpenAPI document', async () => {
    expect((await app.inject({ method: 'GET', url: paths.health })).statusCode).toBe(200)
    const ready = await app.inject({ method: 'GET', url: paths.ready })
    expect(ready.statusCode).toBe(200)
    // each model's readiness, and no session, queue or worker counts
    expect(ready.json()).toEqual({ ready: true, models: [...app.blindfold.models.keys()].map((name) => ({ name, ready: true })) })
    const doc = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })
    expect(doc.json().openapi).toBe('3.1.0')
  })

  it('sets security headers and no CORS by default', async () => {
    const r = await app.inject({ method: 'GET', url: paths.models, headers: { origin: 'https://evil.example' } })
    expect(r.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY)
    expect(r.headers['x-content-type-options']).toBe('nosniff')
    expect(r.headers['referrer-policy']).toBe('no-referrer')
    expect(r.headers['cache-control']).toBe('no-store')
    expect(r.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('answers unknown routes with a JSON not_found', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v1/nope' })
    expect(r.statusCode).toBe(404)
    expect(errorCode(r)).toBe('not_found')
  })
})

describe('readiness and options', () => {
  it('is 503 until a worker has built a model', async () => {
    const { buildApp } = await import('./app')
    const fresh = await buildApp({ models: new Map([[model.manifest.name, model]]), poolSize: 1, rateLimitMax: 0 })
    try {
      const early = await fresh.inject({ method: 'GET', url: paths.ready })
      expect(early.statusCode).toBe(503)
      expect(early.json()).toEqual({
        ready: false,
        error: { code: 'not_ready', message: 'workers are loading the models' },
        models: [{ name: model.manifest.name, ready: false }],
      })
      await poolOf(fresh).ready
      expect((await fresh.inject({ method: 'GET', url: paths.ready })).statusCode).toBe(200)
    } finally {
      await fresh.close()
    }
  })

  it('rate-limits per client and allows CORS only for the configured origin', async () => {
    const { buildApp } = await import('./app')
    const limited = await buildApp({ models: new Map([[model.manifest.name, model]]), poolSize: 1, rateLimitMax: 2, corsOrigin: 'https://app.example' })
    try {
      const codes = []
      for (let i = 0; i < 3; i++) codes.push((await limited.inject({ method: 'GET', url: paths.models })).statusCode)
      expect(codes).toEqual([200, 200, 429])
      const r = await limited.inject({ method: 'GET', url: paths.models, remoteAddress: '10.0.0.9', headers: { origin: 'https://app.example' } })
      expect(r.statusCode).toBe(200)
      expect(r.headers['access-control-allow-origin']).toBe('https://app.example')
      const r429 = await limited.inject({ method: 'GET', url: paths.models })
      expect(errorCode(r429)).toBe('rate_limited')
      expect(r429.json().error.message).toMatch(/rate limit of 2 points per 60 s/)
      expect(Number(r429.headers['retry-after'])).toBeGreaterThan(0)
      expect(r429.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY)
      // a cross-origin page can read its 429 (CORS headers are set before the limit)
      const corsLimited = await limited.inject({ method: 'GET', url: paths.models, headers: { origin: 'https://app.example' } })
      expect(corsLimited.statusCode).toBe(429)
      expect(corsLimited.headers['access-control-allow-origin']).toBe('https://app.example')
    } finally {
      await limited.close()
    }
  })
})
