/**
 * Sessions and queries per client, with real keys and real classifications: one client's
 * uploads cannot evict another client's session, a few addresses filling the store cannot lock
 * a new client out, a store full of clients within their shares refuses rather than evicts,
 * and the query budgets a model owner sets hold per key set and per client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { BINARY, paths, type SessionCreated } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { argmax } from '../../src/model/forward'
import { publicModel } from '../../src/he/public-model'
import type { ModelFiles } from '../../src/datasets/model-files'
import type { HttpError } from '../http/http-error'
import { SessionStore } from './session-store'
import { digits, errorCode, startApp } from '../test-support/harness'
import { InjectedFaults } from '../test-support/faults'
import { testModels } from '../test-support/models'

const VICTIM = '198.51.100.7'
const ATTACKER = '203.0.113.66'
let clock = 1_000_000
let models: Map<string, ModelFiles>
let model: ModelFiles
let owner: KeyOwner
let image: { x: Float64Array; expected: number }
let request: Buffer

beforeAll(async () => {
  models = await testModels()
  model = [...models.values()][0]
  owner = await KeyOwner.create(publicModel(model.manifest))
  image = digits(model, 0, 1)[0]
  const bytes = owner.encrypt(image.x)
  request = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
})
afterAll(() => owner?.dispose())

// the same evaluation-key bytes make as many sessions as we like
function upload(app: FastifyInstance, remoteAddress: string) {
  const keys = owner.evaluationKeys
  return app.inject({
    method: 'POST',
    url: `${paths.sessions}?model=${model.manifest.name}`,
    remoteAddress,
    headers: { 'content-type': BINARY },
    payload: Buffer.from(keys.buffer, keys.byteOffset, keys.byteLength),
  })
}
async function session(app: FastifyInstance, remoteAddress: string): Promise<string> {
  const r = await upload(app, remoteAddress)
  expect(r.statusCode, r.body).toBe(201)
  expect(r.headers['cache-control']).toBe('no-store')
  return (r.json() as SessionCreated).sessionId
}
function classify(app: FastifyInstance, id: string, remoteAddress: string) {
  return app.inject({ method: 'POST', url: paths.classify(id), remoteAddress, headers: { 'content-type': BINARY }, payload: request })
}
async function expectCorrect(app: FastifyInstance, id: string, remoteAddress: string) {
  const r = await classify(app, id, remoteAddress)
  expect(r.statusCode, r.body).toBe(200)
  expect(argmax(owner.decrypt(new Uint8Array(r.rawPayload)))).toBe(image.expected)
}

describe('session quotas per client', () => {
  let app: FastifyInstance
  let victim: string
  beforeAll(async () => {
    // the default quotas (64 sessions in all, 4 per client), no rate limit: the store alone must hold
    ;({ app } = await startApp({ models, sessionMax: 64, sessionsPerClient: 4 }))
  })
  afterAll(async () => {
    await app?.close()
  })

  it("66 uploads from one client evict only that client's own sessions; another client's session still classifies correctly", async () => {
    victim = await session(app, VICTIM)
    const attackerSessions: string[] = []
    for (let i = 0; i < 66; i++) attackerSessions.push(await session(app, ATTACKER))
    expect(app.blindfold.sessions.size).toBe(5) // the victim's and the attacker's last 4
    await expectCorrect(app, victim, VICTIM)
    // the attacker's oldest sessions are gone, its newest work
    expect(errorCode(await classify(app, attackerSessions[0], ATTACKER))).toBe('unknown_session')
    await expectCorrect(app, attackerSessions[65], ATTACKER)
  })

  it('16 addresses filling the store with 4 sessions each do not lock a new client out; the victim within its share keeps its session', async () => {
    // straight into the store: validating dozens more uploads in a worker would only slow the test down
    const store = app.blindfold.sessions
    for (let round = 0; round < 4; round++) {
      for (let a = 1; a <= 16; a++) store.add(SessionStore.newId(), model.manifest.name, owner.evaluationKeys, `192.0.2.${a}`)
    }
    const full = store.size
    const newcomer = await upload(app, '198.51.100.99')
    expect(newcomer.statusCode, newcomer.body).toBe(201)
    expect(store.size).toBeLessThanOrEqual(full + 1)
    await expectCorrect(app, (newcomer.json() as SessionCreated).sessionId, '198.51.100.99')
    await expectCorrect(app, victim, VICTIM)
  })

  it('a store full of clients within their shares refuses a new session with 503 sessions_full and Retry-After, evicting nobody', async () => {
    // fill the store from other clients, one session each, until it refuses, by its 64 sessions
    // or by its bytes, whichever this model's keys reach first; on the way, clients over their
    // shrinking share (the 16 above, the attacker) make room down to one session each
    const store = app.blindfold.sessions
    for (let i = 0; ; i++) {
      try {
        store.add(SessionStore.newId(), model.manifest.name, owner.evaluationKeys, `192.0.2.${i + 20}`)
      } catch (e) {
        if ((e as HttpError).code !== 'sessions_full') throw e
        break
      }
    }
    const full = store.size
    expect(full).toBeGreaterThan(8)
    const refused = await upload(app, '192.0.2.250')
    expect(refused.statusCode).toBe(503)
    expect(errorCode(refused)).toBe('sessions_full')
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
    expect(refused.headers['cache-control']).toBe('no-store')
    expect(refused.headers['x-content-type-options']).toBe('nosniff')
    expect(store.size).toBe(full)
    // a client already holding a session may still replace its own
    expect((await upload(app, ATTACKER)).statusCode).toBe(201)
    expect(store.size).toBe(full)
    await expectCorrect(app, victim, VICTIM)
  })
})

describe('query budgets', () => {
  let app: FastifyInstance
  const faults = new InjectedFaults()
  beforeAll(async () => {
    ;({ app } = await startApp({ models, faults, maxQueriesPerSession: 2, maxQueriesPerClient: 3, queryWindowSeconds: 60, now: () => clock }))
  })
  afterAll(async () => {
    await app?.close()
  })

  it('a key set answers at most MAX_QUERIES_PER_SESSION classifications; new keys start a new session budget', async () => {
    const first = await session(app, '198.51.100.20')
    await expectCorrect(app, first, '198.51.100.20')
    await expectCorrect(app, first, '198.51.100.20')
    const over = await classify(app, first, '198.51.100.20')
    expect(over.statusCode).toBe(429)
    expect(errorCode(over)).toBe('query_budget_exhausted')
    expect(over.json().error.message).toContain('upload new keys')
    const second = await session(app, '198.51.100.20')
    await expectCorrect(app, second, '198.51.100.20')
  })

  it('a client gets at most MAX_QUERIES_PER_CLIENT per window, whatever its keys; the window rolls', async () => {
    const client = '198.51.100.21'
    const a = await session(app, client)
    const b = await session(app, client)
    await expectCorrect(app, a, client)
    await expectCorrect(app, a, client)
    await expectCorrect(app, b, client)
    const over = await classify(app, b, client) // b has used 1 of its 2: the client budget refuses
    expect(over.statusCode).toBe(429)
    expect(errorCode(over)).toBe('query_budget_exhausted')
    expect(over.json().error.message).toContain('new keys do not reset this budget')
    const retry = Number(over.headers['retry-after'])
    expect(retry).toBeGreaterThan(55)
    expect(retry).toBeLessThanOrEqual(63)
    // another client is unaffected
    await expectCorrect(app, await session(app, '198.51.100.22'), '198.51.100.22')
    clock += retry * 1000
    await expectCorrect(app, b, client)
  })

  it('a classification that gets no answer is not counted', async () => {
    const client = '198.51.100.23'
    const id = await session(app, client)
    faults.trapNextJob()
    expect((await classify(app, id, client)).statusCode).toBeGreaterThanOrEqual(500)
    await expectCorrect(app, id, client)
    await expectCorrect(app, id, client)
  })
})
