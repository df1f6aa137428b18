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
import { loadModelDir, MODELS_DIR, type ModelFiles } from '../../src/datasets/model-files'
import { join } from 'node:path'
import { classifyDigit, digits, errorCode, newSession, postClassify, publicModelOf } from '../test-support/harness'
import { freePort, startRedis, type TestRedis } from '../test-support/redis'
import { modelsDirWith, startApiReplica, startEvaluator, TEST_JOB_MAC_KEY, type ServiceProcess } from '../test-support/processes'
import { JobMac } from './job-mac'
import { QUEUE_NAME, redisKeys } from './redis-keys'
import { openKeys } from './stored-keys'
import { parse, sample } from '../test-support/prometheus'

const MODEL = 'mnist-cnn'
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
    jobMacKey: TEST_JOB_MAC_KEY,
    ...options,
  })
  await app.blindfold.evaluation.ready
  apps.push(app)
  return app
}

async function evaluator(redisUrl = redis.url): Promise<ServiceProcess> {
  // METRICS_PORT=0: its own GET /metrics on a free loopback port, which it logs when ready
  const e = await startEvaluator({ REDIS_URL: redisUrl, MODELS_DIR: models.dir, METRICS_PORT: '0' })
  evaluators.push(e)
  return e
}

/** The samples of an evaluator process's own GET /metrics. */
async function evaluatorMetrics(e: ServiceProcess) {
  const port = /"metricsPort":(\d+)/.exec(e.output())?.[1]
  if (!port) throw new Error('the evaluator logged no metrics port')
  const r = await fetch(`http://127.0.0.1:${port}/metrics`)
  expect(r.status).toBe(200)
  return parse(await r.text())
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
/** POST /sessions to a replica process over HTTP: its session id. */
async function openSessionAt(port: number): Promise<string> {
  const made = await fetch(`http://127.0.0.1:${port}${paths.sessions}?model=${MODEL}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: Buffer.from(owner.evaluationKeys),
    signal: AbortSignal.timeout(RECOVER_MS),
  })
  expect(made.status).toBe(201)
  return ((await made.json()) as { sessionId: string }).sessionId
}

/** One digit classified through a replica process over HTTP, checked against the plaintext model. */
async function classifyAt(port: number, sessionId: string, d: { x: Float64Array; expected: number }): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${port}${paths.classify(sessionId)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: Buffer.from(owner.encrypt(d.x)),
    signal: AbortSignal.timeout(RECOVER_MS),
  })
  // the error body, if any, in the failure message
  expect(r.status, r.ok ? '' : await r.clone().text()).toBe(200)
  expect(argmax(owner.decrypt(new Uint8Array(await r.arrayBuffer())))).toBe(d.expected)
}

async function untilState(app: FastifyInstance, session: string, requestId: string, state: JobProgress['state']): Promise<void> {
  const end = Date.now() + RECOVER_MS
  for (;;) {
    const g = await app.inject({ method: 'GET', url: paths.job(session, requestId) })
    if (g.statusCode === 200 && (g.json() as JobProgress).state === state) return
    if (Date.now() > end) throw new Error(`job ${requestId} never ${state}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

/** until the shared queue (BullMQ's wait list and prioritized set) holds `count` jobs ('queued' is reported from the POST on, before the enqueue is done) */
async function untilWaiting(count: number): Promise<void> {
  const end = Date.now() + RECOVER_MS
  while ((await client.llen(`bull:${QUEUE_NAME}:wait`)) + (await client.zcard(`bull:${QUEUE_NAME}:prioritized`)) < count) {
    if (Date.now() > end) throw new Error(`the queue never held ${count} waiting jobs`)
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
    // the keys are in Redis as uploaded (binary, behind their MAC), with the session's TTL
    const stored = await client.getBuffer(redisKeys.keys(session))
    expect(Buffer.compare(openKeys(new JobMac(TEST_JOB_MAC_KEY), session, MODEL, stored!), Buffer.from(owner.evaluationKeys))).toBe(0)
    const ttl = await client.pttl(redisKeys.keys(session))
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(a.blindfold.config.sessionTtlSeconds * 1000)
    for (const d of digits(model, 0, 3)) {
      const r = await classifyDigit(b, owner, session, d.x)
      expect(r.status).toBe(200)
      expect(r.predicted).toBe(d.expected)
    }
    // request containers live beside their jobs only while the POST is open; the finished jobs
    // BullMQ keeps for a minute hold names, not ciphertexts
    expect(await client.keys(redisKeys.request('*'))).toEqual([])
    const finished = await client.zrange(`bull:${QUEUE_NAME}:completed`, '0', '-1')
    expect(finished.length).toBeGreaterThanOrEqual(3)
    for (const id of finished) {
      const data = JSON.parse((await client.hget(`bull:${QUEUE_NAME}:${id}`, 'data'))!) as Record<string, string>
      expect(Object.keys(data).sort()).toEqual(['mac', 'model', 'requestHash', 'session'])
      // the session id (a bearer token) rides sealed, never in the clear
      expect(data.session).not.toContain(session)
      // and the finished job expires by time, whether or not later jobs complete
      // (the evaluator sets it just after the job completes: wait for it, boundedly)
      const end = Date.now() + RECOVER_MS
      while ((await client.pttl(`bull:${QUEUE_NAME}:${id}`)) === -1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
      expect(await client.pttl(`bull:${QUEUE_NAME}:${id}`)).toBeGreaterThan(0)
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

  it('tells waiting jobs their place in the shared queue, and removes a waiting job when cancelled', async () => {
    const [a, b] = apps
    const session = await newSession(a, owner)
    const [d1, d2, d3] = digits(model, 6, 3)
    // POOL_SIZE=1: the second and third wait while the first runs
    const running = postNamed(a, session, 'cancel-first-00001', d1.x)
    await untilState(a, session, 'cancel-first-00001', 'running')
    const waiting = postNamed(a, session, 'cancel-waiting-001', d2.x)
    await untilState(a, session, 'cancel-waiting-001', 'queued')
    await untilWaiting(1)
    // the third through the other replica: the queue (and the place in it) is shared
    const third = postNamed(b, session, 'queued-third-00001', d3.x)
    await untilState(b, session, 'queued-third-00001', 'queued')
    await untilWaiting(2)
    const place = async (app: FastifyInstance, id: string) => ((await app.inject({ method: 'GET', url: paths.job(session, id) })).json() as JobProgress).queuePosition
    expect(await place(a, 'cancel-waiting-001')).toBe(0)
    expect(await place(b, 'queued-third-00001')).toBe(1)
    expect((await a.inject({ method: 'DELETE', url: paths.job(session, 'cancel-waiting-001') })).statusCode).toBe(204)
    const w = await waiting
    expect(w.statusCode).toBe(409)
    expect(errorCode(w)).toBe('cancelled')
    // the cancelled job left the queue: the third moved up (unless it already runs)
    const after = (await b.inject({ method: 'GET', url: paths.job(session, 'queued-third-00001') })).json() as JobProgress
    if (after.state === 'queued') expect(after.queuePosition).toBe(0)
    const r = await running
    expect(r.statusCode).toBe(200)
    expect(argmax(owner.decrypt(new Uint8Array(r.rawPayload)))).toBe(d1.expected)
    const t = await third
    expect(t.statusCode).toBe(200)
    expect(argmax(owner.decrypt(new Uint8Array(t.rawPayload)))).toBe(d3.expected)
  }, PROCESS_TEST_MS)

  it('exports metrics: the replica sees queue waits and evaluation times, the evaluator its key-cache hits', async () => {
    const [a] = apps
    const before = await evaluatorMetrics(evaluators[0])
    const hitsBefore = sample(before, 'blindfold_key_cache_total', { result: 'hit' }) ?? 0
    const session = await newSession(a, owner)
    for (const d of digits(model, 20, 3)) expect(await classifyDigit(a, owner, session, d.x)).toMatchObject({ status: 200, predicted: d.expected })
    // one evaluator with one worker: the keys were loaded once (at validation), then hit three times
    const after = await evaluatorMetrics(evaluators[0])
    expect((sample(after, 'blindfold_key_cache_total', { result: 'hit' }) ?? 0) - hitsBefore).toBeGreaterThanOrEqual(3)
    expect(sample(after, 'blindfold_evaluation_seconds_count', { model: MODEL, op: 'classify' })).toBeGreaterThanOrEqual(3)
    expect(sample(after, 'blindfold_worker_restarts_total', { reason: 'crash' })).toBe(0)
    // an evaluator holds no sessions: no session gauges there
    expect(sample(after, 'blindfold_sessions')).toBeUndefined()
    const r = await a.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })
    expect(r.statusCode).toBe(200)
    const api = parse(r.body)
    expect(sample(api, 'blindfold_queue_wait_seconds_count', { op: 'classify' })).toBeGreaterThanOrEqual(3)
    expect(sample(api, 'blindfold_queue_wait_seconds_count', { op: 'validate' })).toBeGreaterThanOrEqual(1)
    expect(sample(api, 'blindfold_evaluation_seconds_count', { model: MODEL, op: 'classify' })).toBeGreaterThanOrEqual(3)
    // nothing waits now: the shared queue (read from Redis) is empty
    expect(sample(api, 'blindfold_queue_depth')).toBe(0)
    expect(sample(api, 'blindfold_sessions')).toBeGreaterThanOrEqual(1)
  }, PROCESS_TEST_MS)

  it('is not ready without an evaluator, and a request id follows the job into the evaluator log', async () => {
    // a second, empty Redis: no evaluator is connected to its queue yet
    const other = await startRedis()
    const port = await freePort()
    let api: ServiceProcess | undefined
    let e: ServiceProcess | undefined
    try {
      const lonely = await buildApp({ models: new Map([[MODEL, model]]), redisUrl: other.url, rateLimitMax: 0, jobMacKey: TEST_JOB_MAC_KEY })
      try {
        await lonely.blindfold.evaluation.ready
        const r = await lonely.inject({ method: 'GET', url: paths.ready })
        expect(r.statusCode).toBe(503)
        expect(r.json()).toMatchObject({ ready: false, error: { code: 'not_ready', message: 'no evaluator is connected to the queue' } })
      } finally {
        await lonely.close()
      }
      e = await evaluator(other.url)
      // an API replica process at log level info; startApiReplica waits for /readyz 200, which now needs the evaluator
      api = await startApiReplica(port, { REDIS_URL: other.url, MODELS_DIR: models.dir, LOG_LEVEL: 'info' })
      const sessionId = await openSessionAt(port)
      await classifyAt(port, sessionId, digits(model, 30, 1)[0])
      // the replica's access log names the classify request's id; the evaluator's job lines carry the same reqId
      const lines = api
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { reqId?: string; req?: { route?: string } })
      const classifyIds = lines.filter((l) => l.req?.route === `${paths.sessions}/:id/classify`).map((l) => l.reqId)
      expect(classifyIds.length).toBe(1)
      expect(e.output()).toContain(`"reqId":"${classifyIds[0]}","op":"classify"`)
      expect(e.output()).not.toContain(sessionId)
    } finally {
      await api?.stop()
      await e?.stop()
      await other.stop()
    }
  }, PROCESS_TEST_MS)

  it('finds the session through another replica process when the one that made it is SIGKILLed', async () => {
    const env = { REDIS_URL: redis.url, MODELS_DIR: models.dir }
    const [portA, portB] = [await freePort(), await freePort()]
    const [a, b] = await Promise.all([startApiReplica(portA, env), startApiReplica(portB, env)])
    try {
      const sessionId = await openSessionAt(portA)
      a.child.kill('SIGKILL')
      expect(await a.exited).toBe('SIGKILL')
      // the client's retry goes to the other replica
      await classifyAt(portB, sessionId, digits(model, 11, 1)[0])
      // neither process logged key material (the session id is a bearer token: not logged either)
      for (const p of [a, b]) expect(p.output()).not.toContain(sessionId)
    } catch (e) {
      // what each process said, for the failure message
      throw new Error(`${(e as Error).message}\nA: ${a.output().slice(-1500)}\nB: ${b.output().slice(-1500)}\nevaluator: ${evaluators[0].output().slice(-1500)}`)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  }, PROCESS_TEST_MS)

  it('retries on another evaluator a job whose evaluator was SIGKILLed mid-job: the right answer, with default timing', async () => {
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
