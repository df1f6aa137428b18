/**
 * Clients' turns and queue places in distributed mode (queue-admission.ts): two API replicas
 * (buildApp with REDIS_URL) on one real redis-server, and evaluator processes started only when
 * a test wants its queued jobs run, so that what waits in the shared queue, and in which order,
 * is fixed before any of it runs. Clients are the sessions' owner addresses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { join } from 'node:path'
import { buildApp } from '../app'
import { headers, paths, type JobProgress, type SessionCreated } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { argmax } from '../../src/model/forward'
import { loadModelDir, MODELS_DIR, type ModelFiles } from '../../src/datasets/model-files'
import { digits, errorCode, publicModelOf, until as untilWithin } from '../test-support/harness'
import { startRedis, type TestRedis } from '../test-support/redis'
import { modelsDirWith, startEvaluator, TEST_JOB_MAC_KEY, type ServiceProcess } from '../test-support/processes'
import { admitToQueue, leaveAdmission, leaveShare } from './queue-admission'
import { QUEUE_NAME, queueJobKeys as WAITING, redisKeys } from './redis-keys'

const MODEL = 'mnist-cnn'
const PROCESS_TEST_MS = 300_000
const WAIT_MS = 120_000
const until = (cond: () => Promise<boolean>, what: string) => untilWithin(cond, what, WAIT_MS)
const FLOODER = '127.0.0.50'
const LEGIT = '127.0.0.51'
const SPOILED = '127.0.0.52'

let redis: TestRedis
let models: { dir: string; remove(): void }
let model: ModelFiles
let owner: KeyOwner
let client: Redis
let a: FastifyInstance
let b: FastifyInstance
const apps: FastifyInstance[] = []
const sessions: Record<string, string> = {}

async function replica(options: { queueMax?: number } = {}): Promise<FastifyInstance> {
  // jobs wait while no evaluator runs: the queue bound is out of the way
  const app = await buildApp({ models: new Map([[MODEL, model]]), redisUrl: redis.url, rateLimitMax: 0, jobMacKey: TEST_JOB_MAC_KEY, queueWaitMs: WAIT_MS, ...options })
  await app.blindfold.evaluation.ready
  apps.push(app)
  return app
}

function evaluator(): Promise<ServiceProcess> {
  return startEvaluator({ REDIS_URL: redis.url, MODELS_DIR: models.dir })
}

async function sessionFrom(app: FastifyInstance, address: string): Promise<string> {
  const r = await app.inject({
    method: 'POST',
    url: `${paths.sessions}?model=${MODEL}`,
    headers: { 'content-type': 'application/octet-stream' },
    payload: Buffer.from(owner.evaluationKeys),
    remoteAddress: address,
  })
  expect(r.statusCode, r.body).toBe(201)
  return (r.json() as SessionCreated).sessionId
}

function post(app: FastifyInstance, address: string, requestId: string, x: Float64Array) {
  return app.inject({
    method: 'POST',
    url: paths.classify(sessions[address]),
    headers: { 'content-type': 'application/octet-stream', [headers.requestId]: requestId },
    payload: Buffer.from(owner.encrypt(x)),
    remoteAddress: address,
  })
}

async function progress(app: FastifyInstance, address: string, requestId: string): Promise<JobProgress | undefined> {
  const g = await app.inject({ method: 'GET', url: paths.job(sessions[address], requestId) })
  return g.statusCode === 200 ? (g.json() as JobProgress) : undefined
}

async function waitingJobs(): Promise<number> {
  return (await client.llen(WAITING.wait)) + (await client.zcard(WAITING.prioritized))
}

const untilWaiting = (count: number) => until(async () => (await waitingJobs()) === count, `${count} jobs waiting`)

/** The jobs a client has in flight, as every replica counts them. */
const inFlight = (address: string) => client.zcard(redisKeys.inFlight(address))

beforeAll(async () => {
  redis = await startRedis()
  models = modelsDirWith([MODEL])
  model = await loadModelDir(join(MODELS_DIR, MODEL))
  client = new Redis(redis.url)
  const validating = await evaluator()
  try {
    a = await replica()
    b = await replica()
    owner = await KeyOwner.create(await publicModelOf(a))
    for (const address of [FLOODER, LEGIT, SPOILED]) sessions[address] = await sessionFrom(a, address)
  } finally {
    await validating.stop()
  }
}, PROCESS_TEST_MS)

afterAll(async () => {
  owner?.dispose()
  for (const app of apps) await app.close()
  await client?.quit()
  await redis?.stop()
  models?.remove()
}, PROCESS_TEST_MS)

describe('per-client turns in the shared queue (distributed mode)', () => {
  it("runs a newcomer's job before a flooding client's backlog, whichever replica each came through", async () => {
    const flood = digits(model, 0, 4)
    const [legit] = digits(model, 10, 1)
    const finished: string[] = []
    const sent: { id: string; expected: number; answer: ReturnType<typeof post> }[] = []
    const send = (app: FastifyInstance, address: string, id: string, d: { x: Float64Array; expected: number }) => {
      const answer = post(app, address, id, d.x)
      void answer.then(() => finished.push(id))
      sent.push({ id, expected: d.expected, answer })
    }
    // no evaluator runs: the flooder's four jobs wait, in the order they came
    for (const [k, d] of flood.entries()) {
      send(k % 2 ? b : a, FLOODER, `turns-flood-00000${k}`, d)
      await untilWaiting(k + 1)
    }
    expect(await inFlight(FLOODER)).toBe(4)
    send(b, LEGIT, 'turns-legit-000000', legit)
    await untilWaiting(5)
    // the newcomer has as few jobs in flight as the flooder had for its first: it waits for that one only
    expect((await progress(b, LEGIT, 'turns-legit-000000'))?.queuePosition).toBe(1)
    expect((await progress(a, FLOODER, 'turns-flood-000002'))?.queuePosition).toBe(3)
    expect((await progress(b, FLOODER, 'turns-flood-000003'))?.queuePosition).toBe(4)
    const e = await evaluator()
    try {
      for (const s of sent) {
        const r = await s.answer
        expect(r.statusCode, r.body).toBe(200)
        expect(argmax(owner.decrypt(new Uint8Array(r.rawPayload)))).toBe(s.expected)
      }
    } finally {
      await e.stop()
    }
    // one evaluator with one worker: answered in the order run
    expect(finished.indexOf('turns-legit-000000')).toBe(1)
    expect(finished.indexOf('turns-legit-000000')).toBeLessThan(finished.indexOf('turns-flood-000001'))
    // every job left its client's count before it was answered
    expect(await inFlight(FLOODER)).toBe(0)
    expect(await inFlight(LEGIT)).toBe(0)
    expect(await client.zcard(redisKeys.inFlightClients)).toBe(0)
  }, PROCESS_TEST_MS)

  it("takes a job off its client's count when cancelled waiting or running, removed by another, failed, or its replica never says; ignores a planted displacement flag", async () => {
    const [d1, d2, d3] = digits(model, 20, 3)
    // cancelled while waiting (no evaluator runs)
    const waiting = post(a, FLOODER, 'count-waiting-00000', d1.x)
    await untilWaiting(1)
    expect(await inFlight(FLOODER)).toBe(1)
    expect((await a.inject({ method: 'DELETE', url: paths.job(sessions[FLOODER], 'count-waiting-00000') })).statusCode).toBe(204)
    const w = await waiting
    expect(w.statusCode).toBe(409)
    expect(errorCode(w)).toBe('cancelled')
    expect(await inFlight(FLOODER)).toBe(0)
    // removed by someone else with a displacement flag planted in Redis: not the queue's answer, and counted out too
    const planted = post(b, FLOODER, 'count-planted-00000', d1.x)
    await untilWaiting(1)
    const [plantedJob] = await client.zrange(WAITING.prioritized, '0', '-1')
    await client.set(redisKeys.displaced(plantedJob), 'x'.repeat(43), 'PX', 60_000)
    const queue = new Queue(QUEUE_NAME, { connection: new Redis(redis.url, { maxRetriesPerRequest: null }) })
    try {
      expect(await queue.remove(plantedJob)).toBe(1)
    } finally {
      await queue.close()
    }
    const p = await planted
    expect(p.statusCode).toBe(503)
    expect(errorCode(p)).toBe('store_unavailable')
    expect(await inFlight(FLOODER)).toBe(0)
    const e = await evaluator()
    try {
      // cancelled while running
      const running = post(b, FLOODER, 'count-running-00000', d2.x)
      await until(async () => (await progress(b, FLOODER, 'count-running-00000'))?.state === 'running', 'the job running')
      expect(await inFlight(FLOODER)).toBe(1)
      expect((await b.inject({ method: 'DELETE', url: paths.job(sessions[FLOODER], 'count-running-00000') })).statusCode).toBe(204)
      const r = await running
      expect(r.statusCode).toBe(409)
      expect(await inFlight(FLOODER)).toBe(0)
      // failed in the evaluator: the session's keys in Redis were replaced
      await client.set(redisKeys.keys(sessions[SPOILED]), Buffer.from('not the keys that were uploaded'), 'PX', 60_000)
      const failed = await post(a, SPOILED, 'count-failed-000000', d3.x)
      expect(failed.statusCode).toBe(502)
      expect(errorCode(failed)).toBe('integrity_failed')
      expect(await inFlight(SPOILED)).toBe(0)
    } finally {
      await e.stop()
    }
    // a replica that died never takes its job off the count: the entry lapses by itself
    expect(await admitToQueue(client, WAITING, 'count-lapsed-000000', 100, 'lapsing-client', 1)).toBe(1)
    await new Promise((r) => setTimeout(r, 20))
    expect(await admitToQueue(client, WAITING, 'count-lapsed-000001', 100, 'lapsing-client', WAIT_MS)).toBe(1)
    expect(await inFlight('lapsing-client')).toBe(1)
    await leaveShare(client, 'lapsing-client', 'count-lapsed-000001')
    for (const id of ['count-lapsed-000000', 'count-lapsed-000001']) leaveAdmission(client, id)
    expect(await client.exists(redisKeys.inFlight('lapsing-client'))).toBe(0)
    expect(await client.zcard(redisKeys.inFlightClients)).toBe(0)
  }, PROCESS_TEST_MS)

  it("gives a newcomer to a full queue the place of the flooder's last job, which answers 503 overloaded with Retry-After", async () => {
    const small = await replica({ queueMax: 3 })
    const flood = digits(model, 30, 4)
    const [l1, l2] = digits(model, 40, 2)
    // no evaluator runs: the flooder fills the queue
    const floods = []
    for (const k of [0, 1, 2]) {
      floods.push(post(small, FLOODER, `displace-flood-0000${k}`, flood[k].x))
      await untilWaiting(k + 1)
    }
    const legit = post(small, LEGIT, 'displace-legit-00000', l1.x)
    const displaced = await floods[2]
    expect(displaced.statusCode).toBe(503)
    expect(errorCode(displaced)).toBe('overloaded')
    expect(displaced.json().error.message).toContain('holds more of it than others')
    expect(Number(displaced.headers['retry-after'])).toBeGreaterThan(0)
    await until(async () => (await inFlight(LEGIT)) === 1 && (await waitingJobs()) === 3, "the newcomer's job in the flooder's place")
    expect(await inFlight(FLOODER)).toBe(2)
    // a client within its share keeps its places: the newcomer's second job is refused, as is the flooder's next
    for (const [address, id, d] of [
      [LEGIT, 'displace-legit-00001', l2],
      [FLOODER, 'displace-flood-00003', flood[3]],
    ] as const) {
      const r = await post(small, address, id, d.x)
      expect(r.statusCode).toBe(503)
      expect(errorCode(r)).toBe('overloaded')
      expect(r.json().error.message).toContain('queue is full')
      expect(r.json().error.message).not.toContain('holds more')
    }
    const e = await evaluator()
    try {
      for (const [p, d] of [
        [floods[0], flood[0]],
        [floods[1], flood[1]],
        [legit, l1],
      ] as const) {
        const r = await p
        expect(r.statusCode, r.body).toBe(200)
        expect(argmax(owner.decrypt(new Uint8Array(r.rawPayload)))).toBe(d.expected)
      }
    } finally {
      await e.stop()
    }
    expect(await inFlight(FLOODER)).toBe(0)
    expect(await inFlight(LEGIT)).toBe(0)
  }, PROCESS_TEST_MS)
})
