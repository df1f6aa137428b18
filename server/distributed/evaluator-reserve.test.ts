/**
 * The evaluator slot kept free for other clients (evaluator-reserve.ts) on a real redis-server:
 * jobs are counted as their clients' by the admission script the API replicas run
 * (queue-admission.ts), and held-back jobs' places in the queue come from a real BullMQ queue.
 * The same sequences of turns give the same answers as the embedded pool's rule
 * (server/pool/worker-reserve.ts). Then an API replica (buildApp with REDIS_URL) and an
 * evaluator process: a held-back job waits on the evaluator and gives way to another client's.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { join } from 'node:path'
import { buildApp } from '../app'
import { headers, paths, type SessionCreated } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { argmax } from '../../src/model/forward'
import { loadModelDir, MODELS_DIR } from '../../src/datasets/model-files'
import { digits, publicModelOf, until } from '../test-support/harness'
import { modelsDirWith, startEvaluator, TEST_JOB_MAC_KEY } from '../test-support/processes'
import { startRedis, type TestRedis } from '../test-support/redis'
import { WorkerReserve } from '../pool/worker-reserve'
import { EvaluatorReserve } from './evaluator-reserve'
import { admitToQueue, leaveAdmission } from './queue-admission'
import { QUEUE_NAME, queueJobKeys, redisKeys } from './redis-keys'

const LIFETIME_MS = 600_000
const KEYS = queueJobKeys

let redis: TestRedis
let client: Redis
let queue: Queue

beforeAll(async () => {
  redis = await startRedis()
  client = new Redis(redis.url)
  queue = new Queue(QUEUE_NAME, { connection: new Redis(redis.url, { maxRetriesPerRequest: null }) })
})

afterAll(async () => {
  await queue?.close()
  await client?.quit()
  await redis?.stop()
})

/** `jobId` counted as `who`'s in flight, as an API replica admits it. */
async function admitted(who: string, jobId: string): Promise<void> {
  await admitToQueue(client, KEYS, jobId, 1000, who, LIFETIME_MS)
  leaveAdmission(client, jobId)
}

/** Evaluators registered with these slots, sharing `windowMs`; the first answers turns. */
async function evaluators(slots: number[], windowMs = 30_000, lapseMs = LIFETIME_MS): Promise<EvaluatorReserve> {
  const all = slots.map((n) => new EvaluatorReserve(client, KEYS, n, lapseMs, windowMs))
  for (const e of all) await e.register()
  return all[0]
}

describe('EvaluatorReserve', () => {
  afterEach(async () => {
    await client.flushall()
  })

  it('lets a client alone take every slot', async () => {
    const reserve = await evaluators([1, 1])
    for (const id of ['a1', 'a2']) await admitted('A', id)
    expect(await reserve.take('a1', LIFETIME_MS)).toEqual({ client: 'A', heldMs: 0, requeueAt: 0 })
    expect((await reserve.take('a2', LIFETIME_MS)).heldMs).toBe(0)
  })

  it('keeps the last free slot while another client was served within the window, as the embedded pool does', async () => {
    const reserve = await evaluators([1, 1])
    // the embedded rule on its own clock, fed the same turns (two workers)
    const embedded = new WorkerReserve(() => {}, 30_000, () => 0)
    const running = new Map<string, number>()
    const held = async (who: string, id: string) => {
      const turn = await reserve.take(id, LIFETIME_MS)
      const heldThere = embedded.waitFor(who, (running.get(who) ?? 0) + 1, 2) > 0
      expect(turn.heldMs > 0, `${id}: the same answer as the embedded rule`).toBe(heldThere)
      if (!heldThere) {
        embedded.served(who)
        running.set(who, (running.get(who) ?? 0) + 1)
      }
      return heldThere
    }
    const done = async (who: string, id: string) => {
      await reserve.done(who, id)
      running.set(who, running.get(who)! - 1)
    }
    for (const id of ['a1', 'a2', 'a3']) await admitted('A', id)
    for (const id of ['b1', 'b2']) await admitted('B', id)

    expect(await held('B', 'b1')).toBe(false)
    await done('B', 'b1')
    expect(await held('A', 'a1')).toBe(false)
    // A would hold both slots while B was served just now
    expect(await held('A', 'a2')).toBe(true)
    expect((await reserve.take('a2', LIFETIME_MS)).heldMs).toBeLessThanOrEqual(30_000)
    // B takes the slot kept for it
    expect(await held('B', 'b2')).toBe(false)
    await done('B', 'b2')
    await done('A', 'a1')
    // A holds nothing now: one slot of two is its turn
    expect(await held('A', 'a2')).toBe(false)
    expect(await held('A', 'a3')).toBe(true)
  })

  /** Two slots; A has two jobs admitted, B one: B is served and done, then A's first job runs. */
  const bServedThenARunning = async () => {
    const reserve = await evaluators([1, 1])
    for (const id of ['a1', 'a2']) await admitted('A', id)
    await admitted('B', 'b1')
    expect((await reserve.take('b1', LIFETIME_MS)).heldMs).toBe(0)
    await reserve.done('B', 'b1')
    expect((await reserve.take('a1', LIFETIME_MS)).heldMs).toBe(0)
    return reserve
  }

  it('lets the held-back client take the last slot once the window has passed', async () => {
    const reserve = await bServedThenARunning()
    expect((await reserve.take('a2', LIFETIME_MS)).heldMs).toBeGreaterThan(0)
    // B last served longer than the window ago (the time stored back-dated)
    await client.zadd(redisKeys.served, 0, 'B')
    expect((await reserve.take('a2', LIFETIME_MS)).heldMs).toBe(0)
  })

  it('sends a held-back job back behind every other client\'s waiting job, or keeps it while none waits', async () => {
    const reserve = await bServedThenARunning()
    // A's next job, priority 2 (taken by an evaluator: its hash holds the priority)
    await queue.add('classify', {}, { jobId: 'a2', priority: 2 })
    expect(await reserve.take('a2', LIFETIME_MS)).toMatchObject({ client: 'A', requeueAt: 0 })
    // B's job waits at priority 3: A's goes back behind it
    await admitted('B', 'b2')
    await queue.add('classify', {}, { jobId: 'b2', priority: 3 })
    expect(await reserve.take('a2', LIFETIME_MS)).toMatchObject({ client: 'A', requeueAt: 4 })
    // one at priority 1 changes nothing: it comes first anyway
    await admitted('B', 'b3')
    await queue.add('classify', {}, { jobId: 'b3', priority: 1 })
    expect(await reserve.take('a2', LIFETIME_MS)).toMatchObject({ client: 'A', requeueAt: 4 })
    // a job already behind them keeps its priority
    await admitted('A', 'a3')
    await queue.add('classify', {}, { jobId: 'a3', priority: 9 })
    expect(await reserve.take('a3', LIFETIME_MS)).toMatchObject({ client: 'A', requeueAt: 9 })
  })

  it('never holds back a job no client holds, nor on fewer than two slots', async () => {
    let reserve = await evaluators([1, 1])
    expect(await reserve.take('unknown', LIFETIME_MS)).toEqual({ client: '', heldMs: 0, requeueAt: 0 })
    await client.flushall()
    reserve = await evaluators([1])
    for (const id of ['a1', 'a2']) await admitted('A', id)
    await admitted('B', 'b1')
    expect((await reserve.take('b1', LIFETIME_MS)).heldMs).toBe(0)
    expect((await reserve.take('a1', LIFETIME_MS)).heldMs).toBe(0)
    expect((await reserve.take('a2', LIFETIME_MS)).heldMs).toBe(0)
  })

  it("counts an evaluator's slots only while it renews them", async () => {
    const reserve = await evaluators([1])
    const other = new EvaluatorReserve(client, KEYS, 1, LIFETIME_MS)
    await other.register()
    for (const id of ['a1', 'a2', 'a3']) await admitted('A', id)
    await admitted('B', 'b1')
    expect((await reserve.take('b1', LIFETIME_MS)).heldMs).toBe(0)
    expect((await reserve.take('a1', LIFETIME_MS)).heldMs).toBe(0)
    expect((await reserve.take('a2', LIFETIME_MS)).heldMs).toBeGreaterThan(0)
    // the other evaluator's registration lapsed (its lapse time back-dated): one slot left, nothing is kept back
    await client.zadd(redisKeys.evaluators, 0, other.id)
    expect((await reserve.take('a2', LIFETIME_MS)).heldMs).toBe(0)
    // a renewal counts it again; leaving takes it out at once
    await other.register()
    expect((await reserve.take('a3', LIFETIME_MS)).heldMs).toBeGreaterThan(0)
    await other.leave()
    await reserve.leave()
    expect(await client.zcard(redisKeys.evaluators)).toBe(0)
    expect(await client.hlen(redisKeys.evaluatorSlots)).toBe(0)
  })
})

describe('an evaluator slot kept for the other clients (an evaluator process)', () => {
  const MODEL = 'mnist-cnn'
  const LEGIT = '127.0.0.61'
  const FLOODER = '127.0.0.62'

  it("runs a recently served client's job on the last free slot while the flooder's job waits for its own", async () => {
    const models = modelsDirWith([MODEL])
    const model = await loadModelDir(join(MODELS_DIR, MODEL))
    const app = await buildApp({ models: new Map([[MODEL, model]]), redisUrl: redis.url, rateLimitMax: 0, jobMacKey: TEST_JOB_MAC_KEY, queueWaitMs: 120_000 })
    const evaluator = await startEvaluator({ REDIS_URL: redis.url, MODELS_DIR: models.dir })
    let owner: KeyOwner | undefined
    try {
      await app.blindfold.evaluation.ready
      owner = await KeyOwner.create(await publicModelOf(app))
      const keys = Buffer.from(owner.evaluationKeys)
      const sessions: Record<string, string> = {}
      for (const address of [LEGIT, FLOODER]) {
        const r = await app.inject({ method: 'POST', url: `${paths.sessions}?model=${MODEL}`, headers: { 'content-type': 'application/octet-stream' }, payload: keys, remoteAddress: address })
        expect(r.statusCode, r.body).toBe(201)
        sessions[address] = (r.json() as SessionCreated).sessionId
      }
      const post = (address: string, requestId: string, x: Float64Array) =>
        app.inject({
          method: 'POST',
          url: paths.classify(sessions[address]),
          headers: { 'content-type': 'application/octet-stream', [headers.requestId]: requestId },
          payload: Buffer.from(owner!.encrypt(x)),
          remoteAddress: address,
        })
      const [first, held, second] = digits(model, 20, 3)
      expect((await post(LEGIT, 'kept-legit-request-1', first.x)).statusCode).toBe(200)
      // a second evaluator's slot, running one of the flooder's jobs (written as an evaluator would)
      const other = new EvaluatorReserve(client, KEYS, 1, LIFETIME_MS)
      await other.register()
      await admitted(FLOODER, 'kept-flood-running')
      expect((await other.take('kept-flood-running', LIFETIME_MS)).heldMs).toBe(0)

      // the flooder's next job would take the last free slot: the evaluator holds it back
      let floodAnswered = false
      const flood = post(FLOODER, 'kept-flood-request-1', held.x).finally(() => (floodAnswered = true))
      await until(async () => (await queue.getActiveCount()) === 1, 'the evaluator to take the job')
      const legit = await post(LEGIT, 'kept-legit-request-2', second.x)
      expect(legit.statusCode, legit.body).toBe(200)
      expect(argmax(owner.decrypt(new Uint8Array(legit.rawPayload)))).toBe(second.expected)
      expect(floodAnswered).toBe(false)

      // the flooder's other job ends: the held one runs
      await other.done(FLOODER, 'kept-flood-running')
      const r = await flood
      expect(r.statusCode, r.body).toBe(200)
      expect(argmax(owner.decrypt(new Uint8Array(r.rawPayload)))).toBe(held.expected)
    } finally {
      owner?.dispose()
      await app.close()
      await evaluator.stop()
      models.remove()
    }
  }, 300_000)
})
