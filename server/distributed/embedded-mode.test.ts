/**
 * Without REDIS_URL nothing of distributed mode is built: the routes' back end is the
 * in-process pool and the in-memory session store, as before this mode existed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { KeyOwner } from '../../src/he/key-owner'
import { configFromEnv } from '../config'
import type { ModelFiles } from '../../src/datasets/model-files'
import { WorkerPool } from '../pool/pool'
import { SessionStore } from '../sessions/session-store'
import { classifyDigit, digits, newSession, publicModelOf, startApp, poolOf } from '../test-support/harness'

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

describe('embedded mode (no REDIS_URL)', () => {
  it('leaves redisUrl out of the config unless REDIS_URL is set', () => {
    expect('redisUrl' in configFromEnv({})).toBe(false)
    expect(configFromEnv({ REDIS_URL: 'redis://127.0.0.1:1' }).redisUrl).toBe('redis://127.0.0.1:1')
  })

  it('evaluates on the in-process pool with sessions in memory', async () => {
    expect(app.blindfold.evaluation).toBe(poolOf(app))
    expect(poolOf(app)).toBeInstanceOf(WorkerPool)
    expect(app.blindfold.sessions).toBeInstanceOf(SessionStore)
    const session = await newSession(app, owner)
    const d = digits(model, 0, 1)[0]
    expect(await classifyDigit(app, owner, session, d.x)).toMatchObject({ status: 200, predicted: d.expected })
  })
})
