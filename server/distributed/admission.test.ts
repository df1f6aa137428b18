/**
 * Admission in distributed mode, across API replicas: two replicas (two buildApp instances on one
 * real redis-server) and one evaluator process with one worker (stopped while a test fills the
 * queue). QUEUE_MAX counts the shared BullMQ queue, every replica's jobs, and the admissions on
 * their way in; the cost-weighted rate limit is one count in Redis that every replica charges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { join } from 'node:path'
import { buildApp } from '../app'
import { headers, paths } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { argmax } from '../../src/model/forward'
import { loadModelDir, MODELS_DIR, type ModelFiles } from '../../src/datasets/model-files'
import { digits, errorCode, newSession, publicModelOf, until as untilWithin } from '../test-support/harness'
import { startRedis, type TestRedis } from '../test-support/redis'
import { modelsDirWith, startEvaluator, TEST_JOB_MAC_KEY, type ServiceProcess } from '../test-support/processes'
import { admitToQueue, leaveAdmission, SharedQueue } from './queue-admission'
import { JobMac } from './job-mac'
import { queueJobKeys, redisKeys } from './redis-keys'

const MODEL = 'mnist-cnn'
const PROCESS_TEST_MS = 300_000
const WAIT_MS = 120_000
const until = (cond: () => Promise<boolean>, what: string) => untilWithin(cond, what, WAIT_MS)

let redis: TestRedis
let models: { dir: string; remove(): void }
let model: ModelFiles
let owner: KeyOwner
let client: Redis
let evaluator: ServiceProcess
const apps: FastifyInstance[] = []

async function replica(options: { queueMax?: number; queueWaitMs?: number; rateLimitMax?: number; maxQueriesPerClient?: number } = {}): Promise<FastifyInstance> {
  const app = await buildApp({ models: new Map([[MODEL, model]]), redisUrl: redis.url, rateLimitMax: 0, jobMacKey: TEST_JOB_MAC_KEY, ...options })
  await app.blindfold.evaluation.ready
  apps.push(app)
  return app
}

/** Jobs waiting in the shared queue: BullMQ's wait list and its prioritized set. */
async function waitingJobs(): Promise<number> {
  return (await client.llen(queueJobKeys.wait)) + (await client.zcard(queueJobKeys.prioritized))
}

function post(app: FastifyInstance, session: string, requestId: string, x: Float64Array) {
  return app.inject({
    method: 'POST',
    url: paths.classify(session),
    headers: { 'content-type': 'application/octet-stream', [headers.requestId]: requestId },
    payload: Buffer.from(owner.encrypt(x)),
  })
}

beforeAll(async () => {
  redis = await startRedis()
  models = modelsDirWith([MODEL])
  model = await loadModelDir(join(MODELS_DIR, MODEL))
  client = new Redis(redis.url)
  evaluator = await startEvaluator({ REDIS_URL: redis.url, MODELS_DIR: models.dir })
  owner = await KeyOwner.create(await publicModelOf(await replica()))
}, PROCESS_TEST_MS)

afterAll(async () => {
  owner?.dispose()
  for (const app of apps) await app.close()
  await evaluator?.stop()
  await client?.quit()
  await redis?.stop()
  models?.remove()
}, PROCESS_TEST_MS)

describe('admission across replicas (distributed mode)', () => {
  it('answers 503 overloaded with Retry-After once the shared queue holds QUEUE_MAX jobs, whichever replica asks', async () => {
    // the jobs wait while no evaluator runs: the queue bound is out of the way
    const [a, b] = [await replica({ queueMax: 3, queueWaitMs: WAIT_MS }), await replica({ queueMax: 3, queueWaitMs: WAIT_MS })]
    const session = await newSession(a, owner)
    const [d1, d2, d3, d4] = digits(model, 40, 4)
    // no evaluator runs while the queue fills, so none of its jobs leaves it: three wait, through both replicas
    await evaluator.stop()
    const waiting = [post(a, session, 'admit-waiting-001', d1.x), post(b, session, 'admit-waiting-002', d2.x), post(a, session, 'admit-waiting-003', d3.x)]
    // one answered before any evaluator ran was refused on its way in: say how, rather than wait
    const early: string[] = []
    for (const p of waiting) void p.then((r) => early.push(`${r.statusCode} ${r.body.slice(0, 200)}`))
    await until(async () => {
      if (early.length > 0) throw new Error(`answered with no evaluator running: ${early.join('; ')}`)
      return (await waitingJobs()) >= 3
    }, 'three jobs waiting')
    // the queue is full for both replicas
    for (const app of [a, b]) {
      const r = await post(app, session, 'admit-refused-001', d4.x)
      expect(r.statusCode).toBe(503)
      expect(errorCode(r)).toBe('overloaded')
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0)
    }
    // the admitted ones answer rightly once an evaluator runs them
    evaluator = await startEvaluator({ REDIS_URL: redis.url, MODELS_DIR: models.dir })
    for (const [p, d] of [[waiting[0], d1], [waiting[1], d2], [waiting[2], d3]] as const) {
      const r = await p
      expect(r.statusCode).toBe(200)
      expect(argmax(owner.decrypt(new Uint8Array(r.rawPayload)))).toBe(d.expected)
    }
  }, PROCESS_TEST_MS)

  it('counts admissions on their way in: many at once never pass QUEUE_MAX together', async () => {
    const replicas = [new Redis(redis.url), new Redis(redis.url)]
    try {
      const ids = Array.from({ length: 20 }, (_, k) => `admit-race-${String(k).padStart(6, '0')}`)
      const tries = await Promise.allSettled(ids.map((id, k) => admitToQueue(replicas[k % 2], queueJobKeys, id, 3)))
      const admitted = ids.filter((_, k) => tries[k].status === 'fulfilled')
      expect(admitted).toHaveLength(3)
      // each admitted job counts as its client's (one client here): its priority is its place in that count
      const priorities = tries.filter((t) => t.status === 'fulfilled').map((t) => (t as PromiseFulfilledResult<number>).value)
      expect(priorities.sort()).toEqual([1, 2, 3])
      for (const t of tries.filter((t) => t.status === 'rejected')) expect((t as PromiseRejectedResult).reason).toMatchObject({ statusCode: 503, code: 'overloaded' })
      // a place given back is free for the next
      await expect(admitToQueue(replicas[0], queueJobKeys, 'admit-race-late01', 3)).rejects.toMatchObject({ code: 'overloaded' })
      leaveAdmission(replicas[0], admitted[0])
      await until(async () => (await client.zscore(redisKeys.admitting, admitted[0])) === null, 'the place given back')
      await expect(admitToQueue(replicas[1], queueJobKeys, 'admit-race-late02', 3)).resolves.toBe(4)
    } finally {
      await client.del(redisKeys.admitting, redisKeys.inFlight(''), redisKeys.inFlightClients)
      for (const r of replicas) await r.quit()
    }
  }, PROCESS_TEST_MS)

  it('counts a job once while it moves from its held place into the queue', async () => {
    // a queue no evaluator reads: the job stays where BullMQ's add put it
    const queue = new Queue('admission-moving-job', { connection: new Redis(redis.url, { maxRetriesPerRequest: null }) })
    const keys = { wait: queue.keys.wait, prioritized: queue.keys.prioritized, '': queue.keys[''] }
    try {
      const priority = await admitToQueue(client, keys, 'admit-moving-000001', 2)
      await queue.add('classify', {}, { jobId: 'admit-moving-000001', priority })
      // added, its place not given back yet: one job waits, so a second fits a queue of two
      expect(await admitToQueue(client, keys, 'admit-moving-000002', 2)).toBe(2)
      await expect(admitToQueue(client, keys, 'admit-moving-000003', 2)).rejects.toMatchObject({ code: 'overloaded' })
    } finally {
      await queue.obliterate({ force: true })
      await queue.close()
      await client.del(redisKeys.admitting, redisKeys.inFlight(''), redisKeys.inFlightClients)
    }
  }, PROCESS_TEST_MS)

  it('admits a job whose count on its client lapses before the admission ends', async () => {
    // a queue no evaluator reads; a lifetime of 0 ends before the script does, as a short one can on a loaded machine
    const queue = new Queue('admission-lapsing-count', { connection: new Redis(redis.url, { maxRetriesPerRequest: null }) })
    const keys = { wait: queue.keys.wait, prioritized: queue.keys.prioritized, '': queue.keys[''] }
    try {
      expect(await admitToQueue(client, keys, 'admit-lapsing-00001', 2, 'lapsing-client', 0)).toBe(1)
      expect(await client.zscore(redisKeys.admitting, 'admit-lapsing-00001')).not.toBeNull()
      expect(await client.exists(redisKeys.inFlight('lapsing-client'))).toBe(0)
      // its place still counts: the queue of two has room for one more
      expect(await admitToQueue(client, keys, 'admit-lapsing-00002', 2, 'lapsing-client', 0)).toBe(1)
      await expect(admitToQueue(client, keys, 'admit-lapsing-00003', 2, 'lapsing-client', 0)).rejects.toMatchObject({ code: 'overloaded' })
    } finally {
      await queue.obliterate({ force: true })
      await queue.close()
      await client.del(redisKeys.admitting, redisKeys.inFlight('lapsing-client'), redisKeys.inFlightClients)
    }
  }, PROCESS_TEST_MS)

  it("places a waiting job by where it is in Redis, before its replica has heard back from the add", async () => {
    // a queue no evaluator reads: jobs stay where BullMQ's add put them
    const queue = new Queue('admission-job-places', { connection: new Redis(redis.url, { maxRetriesPerRequest: null }) })
    const shared = new SharedQueue(client, queue, new JobMac(TEST_JOB_MAC_KEY), 10)
    try {
      await queue.add('classify', {}, { jobId: 'place-plain-0000001' })
      for (const [id, priority] of [['place-later-0000001', 3], ['place-first-0000001', 1], ['place-after-0000001', 2]] as const) await queue.add('classify', {}, { jobId: id, priority })
      // the wait list runs first, then the prioritized set by priority; told of its add or not
      for (const enqueued of [false, true]) {
        expect(await shared.jobsAhead('place-plain-0000001', enqueued)).toBe(0)
        expect(await shared.jobsAhead('place-first-0000001', enqueued)).toBe(1)
        expect(await shared.jobsAhead('place-after-0000001', enqueued)).toBe(2)
        expect(await shared.jobsAhead('place-later-0000001', enqueued)).toBe(3)
      }
      // not in Redis: on its way in, behind every waiting job; told of its add, taken by an evaluator
      expect(await shared.jobsAhead('place-absent-000001', false)).toBe(4)
      expect(await shared.jobsAhead('place-absent-000001', true)).toBe(0)
    } finally {
      await queue.obliterate({ force: true })
      await queue.close()
    }
  }, PROCESS_TEST_MS)

  it('holds one address to its rate limit across two replicas (within 10%), weighted by cost; others keep theirs', async () => {
    const LIMIT = 60
    const [a, b] = [await replica({ rateLimitMax: LIMIT }), await replica({ rateLimitMax: LIMIT })]
    // requests that cost 1 point each (unknown routes: 404), alternating between the replicas
    let granted = 0
    for (let i = 0; i < 3 * LIMIT; i++) {
      const r = await (i % 2 ? b : a).inject({ method: 'GET', url: '/api/v1/no-such-route', remoteAddress: '127.0.0.7' })
      if (r.statusCode === 429) {
        expect(errorCode(r)).toBe('rate_limited')
        expect(Number(r.headers['retry-after'])).toBeGreaterThan(0)
      } else {
        expect(r.statusCode).toBe(404)
        granted++
      }
    }
    expect(granted).toBeGreaterThanOrEqual(LIMIT)
    expect(granted).toBeLessThanOrEqual(LIMIT * 1.1)
    // the count is the address's, in Redis: another address still has its whole limit
    expect((await b.inject({ method: 'GET', url: '/api/v1/no-such-route', remoteAddress: '127.0.0.8' })).statusCode).toBe(404)
    // costs are weighted: a key upload (cost 50 of 60) through A leaves too little for a second through B
    const heavy = (app: FastifyInstance) =>
      app.inject({ method: 'POST', url: `${paths.sessions}?model=${MODEL}`, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(owner.evaluationKeys), remoteAddress: '127.0.0.9' })
    expect((await heavy(a)).statusCode).toBe(201)
    const second = await heavy(b)
    expect(second.statusCode).toBe(429)
    expect(errorCode(second)).toBe('rate_limited')
  }, PROCESS_TEST_MS)

  it('holds one address to its query budget across two replicas', async () => {
    const [a, b] = [await replica({ maxQueriesPerClient: 2 }), await replica({ maxQueriesPerClient: 2 })]
    const session = await newSession(a, owner)
    const [d1, d2, d3] = digits(model, 50, 3)
    const classify = (app: FastifyInstance, d: { x: Float64Array }, remoteAddress: string) =>
      app.inject({ method: 'POST', url: paths.classify(session), headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(owner.encrypt(d.x)), remoteAddress })
    expect((await classify(a, d1, '127.0.0.20')).statusCode).toBe(200)
    expect((await classify(b, d2, '127.0.0.20')).statusCode).toBe(200)
    for (const app of [a, b]) {
      const r = await classify(app, d3, '127.0.0.20')
      expect(r.statusCode).toBe(429)
      expect(errorCode(r)).toBe('query_budget_exhausted')
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0)
    }
    // another address has its own budget
    const other = await classify(b, d3, '127.0.0.21')
    expect(other.statusCode).toBe(200)
    expect(argmax(owner.decrypt(new Uint8Array(other.rawPayload)))).toBe(d3.expected)
  }, PROCESS_TEST_MS)
})
