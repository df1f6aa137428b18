/**
 * Distributed mode end to end, with real processes and a real Redis (Debian's redis-server,
 * started on a free loopback port by the harness): two API replicas in this process (two
 * Fastify apps with REDIS_URL, no pool of their own) and evaluator child processes
 * (`node --import tsx server/distributed/evaluator.ts`, POOL_SIZE=1) serving mnist-cnn only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { buildApp } from '../app'
import { headers, paths, type JobProgress } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { argmax } from '../../src/model/forward'
import { loadModelDir, MODELS_DIR, type ModelFiles } from '../model-files'
import { join } from 'node:path'
import { classifyDigit, digits, errorCode, newSession, postClassify, publicModelOf } from '../test-support/harness'
import { freePort, startRedis, type TestRedis } from '../test-support/redis'
import { modelsDirWith, startApiReplica, startEvaluator, type ServiceProcess } from '../test-support/processes'
import { redisKeys } from './redis-keys'

const MODEL = 'mnist-cnn'
/** short lock: a killed evaluator's job is taken over within ~2 lock periods */
const LOCK_MS = 1500
/**
 * Bounds for waits on processes and on Redis coming back: generous, since CI runs the whole suite
 * (CIFAR files loading both cores) alongside; nothing here asserts on speed.
 */
const PROCESS_TEST_MS = 300_000
const RECOVER_MS = 120_000

let redis: TestRedis
let models: { dir: string; remove(): void }
let model: ModelFiles
let owner: KeyOwner
let client: Redis
const evaluators: ServiceProcess[] = []
const apps: FastifyInstance[] = []

async function replica(options: { sessionTtlSeconds?: number } = {}): Promise<FastifyInstance> {
  const app = await buildApp({
    models: new Map([[MODEL, model]]),
    redisUrl: redis.url,
    rateLimitMax: 0,
    // room for an evaluator to start and take over a job of one that died
    requestTimeoutMs: 180_000,
    ...options,
  })
  await app.blindfold.evaluation.ready
  apps.push(app)
  return app
}

async function evaluator(): Promise<ServiceProcess> {
  const e = await startEvaluator({ REDIS_URL: redis.url, MODELS_DIR: models.dir, EVALUATOR_LOCK_MS: String(LOCK_MS) })
  evaluators.push(e)
  return e
}

function postNamed(app: FastifyInstance, session: string, requestId: string, x: Float64Array) {
  return app.inject({
    method: 'POST',
    url: paths.classify(session),
    headers: { 'content-type': 'application/octet-stream', [headers.requestId]: requestId },
    payload: Buffer.from(owner.encrypt(x)),
  })
}

/** Polls the job until it is in `state` (404 until the POST's headers have reached the replica). */
async function untilState(app: FastifyInstance, session: string, requestId: string, state: JobProgress['state']): Promise<void> {
  const end = Date.now() + RECOVER_MS
  for (;;) {
    const g = await app.inject({ method: 'GET', url: paths.job(session, requestId) })
    if (g.statusCode === 200 && (g.json() as JobProgress).state === state) return
    if (Date.now() > end) throw new Error(`job ${requestId} never ${state}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

beforeAll(async () => {
  redis = await startRedis()
  models = modelsDirWith([MODEL])
  model = await loadModelDir(join(MODELS_DIR, MODEL))
  client = new Redis(redis.url)
  client.on('error', () => {}) // while the fault tests stop Redis
  await evaluator()
  const a = await replica()
  owner = await KeyOwner.create(await publicModelOf(a))
}, PROCESS_TEST_MS)

afterAll(async () => {
  owner?.dispose()
  for (const app of apps) await app.close()
  for (const e of evaluators) await e.stop()
  await client?.quit()
  await redis?.stop()
  models?.remove()
}, PROCESS_TEST_MS)

describe('distributed mode (REDIS_URL, BullMQ, evaluator processes)', () => {
  it('runs Redis without persistence: keys never reach disk', async () => {
    expect(await client.config('GET', 'save')).toEqual(['save', ''])
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no'])
  }, PROCESS_TEST_MS)

  it('classifies through replica B a session made through replica A, like the plaintext model', async () => {
    const [a] = apps
    const b = await replica()
    const session = await newSession(a, owner)
    // the keys are in Redis as uploaded (binary), with the session's TTL
    const stored = await client.getBuffer(redisKeys.keys(session))
    expect(stored && Buffer.compare(stored, Buffer.from(owner.evaluationKeys))).toBe(0)
    const ttl = await client.pttl(redisKeys.keys(session))
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(a.blindfold.config.sessionTtlSeconds * 1000)
    for (const d of digits(model, 0, 3)) {
      const r = await classifyDigit(b, owner, session, d.x)
      expect(r.status).toBe(200)
      expect(r.predicted).toBe(d.expected)
    }
    // deleted through A, gone for B and from Redis
    expect((await a.inject({ method: 'DELETE', url: `${paths.sessions}/${session}` })).statusCode).toBe(204)
    const gone = await postClassify(b, session, owner.encrypt(digits(model, 0, 1)[0].x))
    expect(gone.statusCode).toBe(404)
    expect(await client.exists(redisKeys.keys(session))).toBe(0)
  }, PROCESS_TEST_MS)

  it('reports progress through the queue', async () => {
    const [a] = apps
    const session = await newSession(a, owner)
    const d = digits(model, 3, 1)[0]
    const requestId = 'progress-test-0001'
    const pending = a.inject({
      method: 'POST',
      url: paths.classify(session),
      headers: { 'content-type': 'application/octet-stream', [headers.requestId]: requestId },
      payload: Buffer.from(owner.encrypt(d.x)),
    })
    const seen = new Set<string>()
    let settled = false
    void pending.finally(() => (settled = true))
    while (!settled) {
      const p = (await a.inject({ method: 'GET', url: paths.job(session, requestId) })).json() as JobProgress
      seen.add(`${p.state}:${p.done}`)
      await new Promise((r) => setTimeout(r, 20))
    }
    const r = await pending
    expect(r.statusCode).toBe(200)
    expect(argmax(owner.decrypt(new Uint8Array(r.rawPayload)))).toBe(d.expected)
    const final = (await a.inject({ method: 'GET', url: paths.job(session, requestId) })).json() as JobProgress
    expect(final).toMatchObject({ state: 'done', done: 3, total: 3 })
    // the evaluator's stage reports reached the API (some running state with stages done)
    expect([...seen].some((s) => s.startsWith('running:'))).toBe(true)
  }, PROCESS_TEST_MS)

  it('expires sessions in Redis as in memory', async () => {
    const short = await replica({ sessionTtlSeconds: 1 })
    const session = await newSession(short, owner)
    expect(await client.exists(redisKeys.keys(session))).toBe(1)
    await new Promise((r) => setTimeout(r, 1300))
    // Redis dropped the key data itself; the replica answers as for an unknown session
    expect(await client.exists(redisKeys.keys(session))).toBe(0)
    const r = await postClassify(short, session, owner.encrypt(digits(model, 0, 1)[0].x))
    expect(r.statusCode).toBe(404)
    expect(errorCode(r)).toBe('unknown_session')
  }, PROCESS_TEST_MS)

  it('cancels a running job through the queue: 409 cancelled, the evaluator carries on', async () => {
    const [a] = apps
    const session = await newSession(a, owner)
    const [d1, d2] = digits(model, 4, 2)
    const pending = postNamed(a, session, 'cancel-running-0001', d1.x)
    await untilState(a, session, 'cancel-running-0001', 'running')
    expect((await a.inject({ method: 'DELETE', url: paths.job(session, 'cancel-running-0001') })).statusCode).toBe(204)
    const r = await pending
    expect(r.statusCode).toBe(409)
    expect(errorCode(r)).toBe('cancelled')
    // the evaluator's pool stopped the job (its flag polled from Redis), not merely the API ignoring the answer
    expect(evaluators[0].output()).toMatch(/"job refused or failed".*\\"c\\":\\"cancelled\\"/)
    // the same evaluator answers the next image rightly
    expect(await classifyDigit(a, owner, session, d2.x)).toMatchObject({ status: 200, predicted: d2.expected })
  }, PROCESS_TEST_MS)

  it('removes a waiting job from the queue when cancelled', async () => {
    const [a] = apps
    const session = await newSession(a, owner)
    const [d1, d2] = digits(model, 6, 2)
    // POOL_SIZE=1: the second waits while the first runs
    const running = postNamed(a, session, 'cancel-first-00001', d1.x)
    await untilState(a, session, 'cancel-first-00001', 'running')
    const waiting = postNamed(a, session, 'cancel-waiting-001', d2.x)
    await untilState(a, session, 'cancel-waiting-001', 'queued')
    expect((await a.inject({ method: 'DELETE', url: paths.job(session, 'cancel-waiting-001') })).statusCode).toBe(204)
    const w = await waiting
    expect(w.statusCode).toBe(409)
    expect(errorCode(w)).toBe('cancelled')
    const r = await running
    expect(r.statusCode).toBe(200)
    expect(argmax(owner.decrypt(new Uint8Array(r.rawPayload)))).toBe(d1.expected)
  }, PROCESS_TEST_MS)

  it('finds the session through another replica process when the one that made it is SIGKILLed', async () => {
    const env = { REDIS_URL: redis.url, MODELS_DIR: models.dir }
    const [portA, portB] = [await freePort(), await freePort()]
    const [a, b] = await Promise.all([startApiReplica(portA, env), startApiReplica(portB, env)])
    try {
      const made = await fetch(`http://127.0.0.1:${portA}${paths.sessions}?model=${MODEL}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from(owner.evaluationKeys),
      })
      expect(made.status).toBe(201)
      const { sessionId } = (await made.json()) as { sessionId: string }
      a.child.kill('SIGKILL')
      expect(await a.exited).toBe('SIGKILL')
      // the client's retry goes to the other replica
      const d = digits(model, 11, 1)[0]
      const r = await fetch(`http://127.0.0.1:${portB}${paths.classify(sessionId)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from(owner.encrypt(d.x)),
      })
      expect(r.status).toBe(200)
      expect(argmax(owner.decrypt(new Uint8Array(await r.arrayBuffer())))).toBe(d.expected)
      // neither process logged key material (the session id is a bearer token: not logged either)
      for (const p of [a, b]) expect(p.output()).not.toContain(sessionId)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  }, PROCESS_TEST_MS)

  it('retries on another evaluator a job whose evaluator was SIGKILLed mid-job: the right answer', async () => {
    const [a, b] = apps
    const first = evaluators[0]
    const session = await newSession(a, owner)
    const d = digits(model, 7, 1)[0]
    const requestId = 'sigkill-test-00001'
    const pending = b.inject({
      method: 'POST',
      url: paths.classify(session),
      headers: { 'content-type': 'application/octet-stream', [headers.requestId]: requestId },
      payload: Buffer.from(owner.encrypt(d.x)),
    })
    // kill the only evaluator as soon as it runs the job
    for (;;) {
      const g = await b.inject({ method: 'GET', url: paths.job(session, requestId) })
      // 404 until the POST's headers have reached the replica
      const state = g.statusCode === 200 ? (g.json() as JobProgress).state : 'unopened'
      if (state === 'running') break
      expect(['unopened', 'queued']).toContain(state)
      await new Promise((r) => setTimeout(r, 2))
    }
    first.child.kill('SIGKILL')
    expect(await first.exited).toBe('SIGKILL')
    // a second evaluator, started after the kill, takes the stalled job over
    const second = await evaluator()
    const r = await pending
    expect(r.statusCode).toBe(200)
    expect(argmax(owner.decrypt(new Uint8Array(r.rawPayload)))).toBe(d.expected)
    // run a second time, by the second evaluator, after BullMQ found it stalled
    expect(second.output()).toMatch(/"job answered".*"started":2,"stalled":1/)
    expect(second.output()).not.toContain('"level":"error"')
  }, PROCESS_TEST_MS)

  it('answers 503 with Retry-After while Redis is down, and recovers when it is back', async () => {
    const [a, b] = apps
    await redis.kill()
    let r = await a.inject({ method: 'POST', url: `${paths.sessions}?model=${MODEL}`, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(owner.evaluationKeys) })
    for (let i = 0; i < 50 && r.statusCode !== 503; i++) {
      await new Promise((res) => setTimeout(res, 100))
      r = await a.inject({ method: 'POST', url: `${paths.sessions}?model=${MODEL}`, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(owner.evaluationKeys) })
    }
    expect(r.statusCode).toBe(503)
    expect(errorCode(r)).toBe('store_unavailable')
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0)
    // B hears of the lost connection on its own connections' events: not ready within the bound
    const downBy = Date.now() + RECOVER_MS
    while ((await b.inject({ method: 'GET', url: paths.ready })).statusCode !== 503) {
      if (Date.now() > downBy) throw new Error(`replica B still ready ${RECOVER_MS} ms after Redis went down`)
      await new Promise((res) => setTimeout(res, 50))
    }
    // Redis comes back empty (no persistence): clients upload their keys again
    await redis.start()
    let session: string | undefined
    const end = Date.now() + RECOVER_MS
    while (!session) {
      try {
        session = await newSession(a, owner)
      } catch (e) {
        if (Date.now() > end) throw e
        await new Promise((res) => setTimeout(res, 200))
      }
    }
    // B reconnects on its own schedule (ioredis backoff, slower on a loaded machine): ready within the bound
    const readyBy = Date.now() + RECOVER_MS
    while ((await b.inject({ method: 'GET', url: paths.ready })).statusCode !== 200) {
      if (Date.now() > readyBy) throw new Error(`replica B not ready ${RECOVER_MS} ms after Redis came back`)
      await new Promise((res) => setTimeout(res, 200))
    }
    const d = digits(model, 9, 1)[0]
    expect(await classifyDigit(b, owner, session, d.x)).toMatchObject({ status: 200, predicted: d.expected })
    expect((await b.inject({ method: 'GET', url: paths.ready })).statusCode).toBe(200)
  }, PROCESS_TEST_MS)
})
