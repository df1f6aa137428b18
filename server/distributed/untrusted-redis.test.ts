/**
 * Redis as an untrusted store: a real redis-server that requires a password, an API replica
 * (buildApp with REDIS_URL) and an evaluator process that connect with it, and an attacker who
 * can read and write Redis but does not hold the job key (JOB_MAC_KEY). Each tampering (a
 * swapped request, an injected job, a planted cancel, replaced session keys, a forged result)
 * ends in an error for the victim, never in a wrong answer with 200.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { join } from 'node:path'
import { buildApp } from '../app'
import { headers, paths, type JobProgress } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { argmax } from '../../src/model/forward'
import { loadModelDir, MODELS_DIR, type ModelFiles } from '../../src/datasets/model-files'
import { digits, errorCode, newSession, publicModelOf, until as untilWithin } from '../test-support/harness'
import { startRedis, type TestRedis } from '../test-support/redis'
import { modelsDirWith, startEvaluator, TEST_JOB_MAC_KEY, type ServiceProcess } from '../test-support/processes'
import { sha256 } from './job-mac'
import { checkRedis, QUEUE_NAME, redisKeys } from './redis-keys'

const MODEL = 'mnist-cnn'
const PASSWORD = 'a test password for redis'
const PROCESS_TEST_MS = 300_000
const WAIT_MS = 120_000
const until = (cond: () => Promise<boolean>, what: string) => untilWithin(cond, what, WAIT_MS)

let redis: TestRedis
let models: { dir: string; remove(): void }
let model: ModelFiles
let owner: KeyOwner
let attacker: Redis
let app: FastifyInstance
let evaluator: ServiceProcess

function post(session: string, requestId: string, x: Float64Array) {
  return app.inject({
    method: 'POST',
    url: paths.classify(session),
    headers: { 'content-type': 'application/octet-stream', [headers.requestId]: requestId },
    payload: Buffer.from(owner.encrypt(x)),
  })
}

/** The job ids (the API's request ids) whose request containers wait in Redis now. */
async function requestsInRedis(): Promise<string[]> {
  return (await attacker.keys(redisKeys.request('*'))).map((k) => k.slice(redisKeys.request('').length))
}

async function stateOf(session: string, requestId: string): Promise<string> {
  const g = await app.inject({ method: 'GET', url: paths.job(session, requestId) })
  return g.statusCode === 200 ? (g.json() as JobProgress).state : 'unopened'
}

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD })
  models = modelsDirWith([MODEL])
  model = await loadModelDir(join(MODELS_DIR, MODEL))
  attacker = new Redis(redis.url)
  attacker.on('error', () => {})
  evaluator = await startEvaluator({ REDIS_URL: redis.url, MODELS_DIR: models.dir })
  app = await buildApp({ models: new Map([[MODEL, model]]), redisUrl: redis.url, rateLimitMax: 0, jobMacKey: TEST_JOB_MAC_KEY })
  await app.blindfold.evaluation.ready
  owner = await KeyOwner.create(await publicModelOf(app))
}, PROCESS_TEST_MS)

afterAll(async () => {
  owner?.dispose()
  await app?.close()
  await evaluator?.stop()
  await attacker?.quit()
  await redis?.stop()
  models?.remove()
}, PROCESS_TEST_MS)

describe('Redis as an untrusted store', () => {
  it('connects with a password; a wrong or missing password stops a process at start with a clear message', async () => {
    const url = new URL(redis.url)
    await expect(checkRedis(redis.url)).resolves.toBeUndefined()
    url.password = 'wrong'
    await expect(checkRedis(url.toString())).rejects.toThrow(/refused the user or password/)
    url.password = ''
    await expect(checkRedis(url.toString())).rejects.toThrow(/refused the user or password/)
    url.password = 'wrong'
    await expect(startEvaluator({ REDIS_URL: url.toString(), MODELS_DIR: models.dir })).rejects.toThrow(/exited before ready[\s\S]*refused the user or password/)
    // and without the job key, distributed mode does not start at all
    await expect(buildApp({ models: new Map([[MODEL, model]]), redisUrl: redis.url, rateLimitMax: 0 })).rejects.toThrow(/JOB_MAC_KEY/)
  }, PROCESS_TEST_MS)

  it('answers rightly through the password-protected Redis, and leaves no session id in the clear in job data', async () => {
    const session = await newSession(app, owner)
    const d = digits(model, 0, 1)[0]
    const r = await post(session, 'plain-request-0001', d.x)
    expect(r.statusCode).toBe(200)
    expect(argmax(owner.decrypt(new Uint8Array(r.rawPayload)))).toBe(d.expected)
    for (const key of await attacker.keys(`bull:${QUEUE_NAME}:*`)) {
      if ((await attacker.type(key)) !== 'hash') continue
      expect(Object.values(await attacker.hgetall(key)).join('\n')).not.toContain(session)
    }
  }, PROCESS_TEST_MS)

  it('a swapped request container: the victim gets integrity_failed, not another image\'s class', async () => {
    const session = await newSession(app, owner)
    const candidates = digits(model, 1, 12)
    const d1 = candidates[0]
    const d2 = candidates.find((d) => d.expected !== d1.expected)!
    // an earlier request of the same session, as Redis saw it
    const earlier = owner.encrypt(d1.x)
    // POOL_SIZE=1: the first job holds the evaluator while the victim's waits, swappable
    const first = post(session, 'swap-first-000001', d1.x)
    await until(async () => (await stateOf(session, 'swap-first-000001')) === 'running', 'first job running')
    const before = await requestsInRedis()
    const victim = post(session, 'swap-victim-00001', d2.x)
    let victimJob: string | undefined
    await until(async () => (victimJob = (await requestsInRedis()).find((id) => !before.includes(id))) !== undefined, 'victim request in Redis')
    await attacker.set(redisKeys.request(victimJob!), Buffer.from(earlier))
    expect((await first).statusCode).toBe(200)
    const r = await victim
    expect(r.statusCode).toBe(502)
    expect(errorCode(r)).toBe('integrity_failed')
  }, PROCESS_TEST_MS)

  it('an injected job is refused by the evaluator before anything is evaluated', async () => {
    const session = await newSession(app, owner)
    const queue = new Queue(QUEUE_NAME, { connection: new Redis(redis.url, { maxRetriesPerRequest: null }) })
    try {
      const request = Buffer.from(owner.encrypt(digits(model, 2, 1)[0].x))
      // the old job shape, and the new one with a made-up MAC
      const jobs = [
        { id: 'injected-plain-001', data: { session, model: MODEL } },
        { id: 'injected-forged-01', data: { session, model: MODEL, requestHash: sha256(request), mac: 'x'.repeat(43) } },
      ]
      for (const j of jobs) {
        await attacker.set(redisKeys.request(j.id), request)
        await queue.add('classify', j.data as never, { jobId: j.id })
      }
      for (const j of jobs) {
        await until(async () => (await (await queue.getJob(j.id))?.getState()) === 'failed', `${j.id} failed`)
        expect((await queue.getJob(j.id))?.failedReason).toContain('integrity_failed')
        expect(await attacker.exists(redisKeys.result(j.id))).toBe(0)
      }
      expect(evaluator.output()).toMatch(/"reqId":"injected-forged-01".*"job refused or failed"|"job refused or failed".*"reqId":"injected-forged-01"/)
    } finally {
      await attacker.del(redisKeys.request('injected-plain-001'), redisKeys.request('injected-forged-01'))
      await queue.close()
    }
  }, PROCESS_TEST_MS)

  it('a planted cancel flag is ignored: the victim gets its right answer', async () => {
    const session = await newSession(app, owner)
    const d = digits(model, 3, 1)[0]
    const victim = post(session, 'planted-cancel-01', d.x)
    await until(async () => (await stateOf(session, 'planted-cancel-01')) === 'running', 'victim running')
    // the job id is the API's request id: the one request container in Redis now
    const [victimJob] = await requestsInRedis()
    await attacker.set(redisKeys.cancel(victimJob), '1', 'PX', 60_000)
    const r = await victim
    expect(r.statusCode).toBe(200)
    expect(argmax(owner.decrypt(new Uint8Array(r.rawPayload)))).toBe(d.expected)
    expect(evaluator.output()).toContain('cancel flag ignored')
  }, PROCESS_TEST_MS)

  it("a session's replaced keys (another client's, or another session's stored ones) give integrity_failed, never a 200", async () => {
    // the attacker's own key set, whose answers the victim would decrypt to noise
    const other = await KeyOwner.create(await publicModelOf(app))
    try {
      const victimA = await newSession(app, owner)
      const victimB = await newSession(app, owner)
      const attackers = await newSession(app, other)
      // neither session has classified yet: the evaluator holds no copy of their keys
      await attacker.set(redisKeys.keys(victimA), Buffer.from(other.evaluationKeys), 'PX', 60_000)
      await attacker.set(redisKeys.keys(victimB), (await attacker.getBuffer(redisKeys.keys(attackers)))!, 'PX', 60_000)
      for (const [session, id] of [
        [victimA, 'replaced-keys-0001'],
        [victimB, 'replaced-keys-0002'],
      ]) {
        const r = await post(session, id, digits(model, 6, 1)[0].x)
        expect(r.statusCode).toBe(502)
        expect(errorCode(r)).toBe('integrity_failed')
      }
      // the attacker's own session, untouched, still answers
      const d = digits(model, 7, 1)[0]
      const x = Buffer.from(other.encrypt(d.x))
      const r = await app.inject({ method: 'POST', url: paths.classify(attackers), headers: { 'content-type': 'application/octet-stream' }, payload: x })
      expect(r.statusCode).toBe(200)
      expect(argmax(other.decrypt(new Uint8Array(r.rawPayload)))).toBe(d.expected)
    } finally {
      other.dispose()
    }
  }, PROCESS_TEST_MS)

  it('a forged result (from a worker without the job key) gives integrity_failed, never a 200', async () => {
    const session = await newSession(app, owner)
    // a replayed response of an earlier job, with its record: valid for that job, not this one
    const d = digits(model, 4, 1)[0]
    const earlier = await post(session, 'forge-earlier-001', d.x)
    expect(earlier.statusCode).toBe(200)
    // the attacker's own worker takes the next jobs instead of the evaluator
    evaluator.child.kill('SIGKILL')
    await evaluator.exited
    const recorded = Buffer.concat([Buffer.from('y'.repeat(43)), Buffer.from(earlier.rawPayload)])
    const forger = new Worker(
      QUEUE_NAME,
      async (job) => {
        await attacker.set(redisKeys.result(job.id!), recorded, 'PX', 60_000)
        return { ms: 1, parts: 1, mac: 'z'.repeat(43) }
      },
      { connection: new Redis(redis.url, { maxRetriesPerRequest: null }) },
    )
    try {
      await forger.waitUntilReady()
      await until(async () => (await app.inject({ method: 'GET', url: paths.ready })).statusCode === 200, 'ready with the forger as its worker')
      const r = await post(session, 'forge-victim-0001', digits(model, 5, 1)[0].x)
      expect(r.statusCode).toBe(502)
      expect(errorCode(r)).toBe('integrity_failed')
    } finally {
      await forger.close()
    }
  }, PROCESS_TEST_MS)
})
