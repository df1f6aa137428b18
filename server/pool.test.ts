/**
 * Pool faults: a worker dying mid-request fails only that request (5xx
 * worker_crashed) and is replaced; a full queue answers 503 overloaded; a job
 * past its deadline answers 504 and its worker is replaced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { KeyOwner } from '../src/he/key-owner'
import type { ModelFiles } from './model-files'
import { classifyDigit, digits, errorCode, newSession, postClassify, publicModelOf, startApp, until } from './test-support/harness'


describe('worker crash', () => {
  let app: FastifyInstance
  let model: ModelFiles
  let owner: KeyOwner
  beforeAll(async () => {
    ;({ app, model } = await startApp({ poolSize: 2 }))
    owner = await KeyOwner.create(await publicModelOf(app))
  })
  afterAll(async () => {
    owner?.dispose()
    await app?.close()
  })

  it('fails only the request the dead worker held, then serves on', async () => {
    const session = await newSession(app, owner)
    const [a, b] = digits(model, 20, 2)
    const pool = app.blindfold.pool
    // two requests in flight on two workers; the first one dispatched dies with its worker
    pool.crashNextJob()
    const both = await Promise.all([a, b].map((d) => classifyDigit(app, owner, session, d.x)))
    const crashed = both.filter((r) => r.code === 'worker_crashed')
    expect(crashed).toHaveLength(1)
    expect(crashed[0].status).toBe(500)
    const survivor = both.findIndex((r) => r.status === 200)
    expect(both[survivor].predicted).toBe([a, b][survivor].expected)
    expect(pool.stats.crashes).toBe(1)
    // the replacement loads, and the session's keys are sent to it again on demand
    await until(() => pool.workers().length === 2, 'the replacement worker')
    for (const d of [a, b]) {
      const ok = await classifyDigit(app, owner, session, d.x)
      expect(ok.status).toBe(200)
      expect(ok.predicted).toBe(d.expected)
    }
  })

  it('survives terminate() of a busy worker from outside', async () => {
    const session = await newSession(app, owner)
    const [d] = digits(model, 30, 1)
    const pool = app.blindfold.pool
    const doomed = postClassify(app, session, owner.encrypt(d.x))
    await until(() => pool.busyWorkers().length > 0, 'a busy worker')
    await pool.busyWorkers()[0].terminate()
    expect(errorCode(await doomed)).toBe('worker_crashed')
    const ok = await classifyDigit(app, owner, session, d.x)
    expect(ok.predicted).toBe(d.expected)
  })
})

describe('overload and timeout', () => {
  it('answers 503 overloaded with Retry-After when the queue is full', async () => {
    const { app, model } = await startApp({ poolSize: 1, queueMax: 0 })
    const owner = await KeyOwner.create(await publicModelOf(app))
    try {
      const session = await newSession(app, owner)
      const body = owner.encrypt(digits(model, 0, 1)[0].x)
      const first = postClassify(app, session, body)
      await until(() => app.blindfold.pool.busyWorkers().length > 0, 'a busy worker')
      const second = await postClassify(app, session, body)
      expect(second.statusCode).toBe(503)
      expect(errorCode(second)).toBe('overloaded')
      expect(second.headers['retry-after']).toBeDefined()
      expect((await first).statusCode).toBe(200)
    } finally {
      owner.dispose()
      await app.close()
    }
  })

  it('answers 504 timeout past the deadline and replaces the worker', async () => {
    const { app, model } = await startApp({ poolSize: 1 })
    const owner = await KeyOwner.create(await publicModelOf(app))
    try {
      const session = await newSession(app, owner)
      // shrink the deadline after key upload so only the classification can miss it
      ;(app.blindfold.pool as unknown as { options: { timeoutMs: number } }).options.timeoutMs = 1
      const r = await postClassify(app, session, owner.encrypt(digits(model, 0, 1)[0].x))
      expect(r.statusCode).toBe(504)
      expect(errorCode(r)).toBe('timeout')
      expect(app.blindfold.pool.stats.timeouts).toBe(1)
      await until(() => app.blindfold.pool.stats.replaced === 1 && app.blindfold.pool.workers().length === 1, 'a replacement')
    } finally {
      owner.dispose()
      await app.close()
    }
  })
})
