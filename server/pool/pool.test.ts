/**
 * Pool faults: a worker dying mid-request fails only that request (5xx
 * worker_crashed) and is replaced; a full queue answers 503 overloaded; a job
 * past its evaluation deadline (counted from a worker taking it) answers 504
 * and its worker, cancelled cooperatively, serves on; only a worker stuck
 * through the grace after the deadline is replaced. Dispatch: key
 * affinity lets later jobs go first, a bounded number of them; clients take
 * turns and a full queue gives a newcomer the place of the client holding the
 * most; a client served recently finds a worker kept for it. A model too
 * large for a worker's SEAL heap stops the start with its size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { KeyOwner } from '../../src/he/key-owner'
import type { ModelFiles } from '../../src/datasets/model-files'
import { MAX_PASSED_OVER } from './dispatch-rule'
import { classifyDigit, digits, errorCode, newSession, postClassify, publicModelOf, startApp, until, poolOf } from '../test-support/harness'
import { InjectedFaults } from '../test-support/faults'
import { paths } from '../../src/api/wire'
import { parseHeParams } from '../../src/he/params'
import { randomModelFiles } from '../../src/he/random-model'
import { parseArch } from '../../src/model/arch-string'
import { buildApp } from '../app'


describe('worker crash', () => {
  let app: FastifyInstance
  const faults = new InjectedFaults()
  let model: ModelFiles
  let owner: KeyOwner
  beforeAll(async () => {
    ;({ app, model } = await startApp({ poolSize: 2, faults }))
    owner = await KeyOwner.create(await publicModelOf(app))
  })
  afterAll(async () => {
    owner?.dispose()
    await app?.close()
  })

  it('fails only the request the dead worker held, then serves on', async () => {
    const session = await newSession(app, owner)
    const [a, b] = digits(model, 20, 2)
    const pool = poolOf(app)
    // two requests in flight on two workers; the first one dispatched dies with its worker
    faults.crashNextJob()
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
    const pool = poolOf(app)
    // the other worker loads the new session's keys ahead (key-warm.ts): only the classification may be busy
    await until(() => pool.busyWorkers().length === 0, 'the keys loaded ahead')
    const doomed = postClassify(app, session, owner.encrypt(d.x))
    await until(() => pool.busyWorkers().length > 0, 'a busy worker')
    await pool.busyWorkers()[0].terminate()
    expect(errorCode(await doomed)).toBe('worker_crashed')
    const ok = await classifyDigit(app, owner, session, d.x)
    expect(ok.predicted).toBe(d.expected)
  })
})

describe('overload', () => {
  it('answers 503 overloaded with Retry-After when the queue is full', async () => {
    const { app, model } = await startApp({ poolSize: 1, queueMax: 0 })
    const owner = await KeyOwner.create(await publicModelOf(app))
    try {
      const session = await newSession(app, owner)
      const body = owner.encrypt(digits(model, 0, 1)[0].x)
      const first = postClassify(app, session, body)
      await until(() => poolOf(app).busyWorkers().length > 0, 'a busy worker')
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

  it('answers 504 timeout to a job no worker took within the queue-wait bound, touching no worker', async () => {
    const faults = new InjectedFaults()
    const { app, model } = await startApp({ poolSize: 1, queueWaitMs: 500, faults })
    const owner = await KeyOwner.create(await publicModelOf(app))
    try {
      const session = await newSession(app, owner)
      const pool = poolOf(app)
      const body = owner.encrypt(digits(model, 0, 1)[0].x)
      // the only worker is held by a job that runs until it is cancelled
      faults.slowStages(120_000)
      const held = pool.classify('held', model.manifest.name, owner.evaluationKeys, body, 'held-job')
      faults.slowStages(0)
      await until(() => pool.busyWorkers().length === 1, 'the held job running')
      const waited = await postClassify(app, session, body)
      expect(waited.statusCode).toBe(504)
      expect(errorCode(waited)).toBe('timeout')
      expect(pool.stats.queueTimeouts).toBe(1)
      expect(pool.stats.timeouts).toBe(0)
      expect(pool.cancel('held-job')).toBe(true)
      await expect(held).rejects.toMatchObject({ statusCode: 409 })
      expect(pool.stats.replaced).toBe(0)
    } finally {
      owner.dispose()
      await app.close()
    }
  })
})

describe('deadlines', () => {
  // long enough for a key upload and an ordinary classification on a busy machine; the jobs that
  // must miss it are held by injected faults, not by a slow model
  const DEADLINE_MS = 3000
  const faults = new InjectedFaults()
  let app: FastifyInstance
  let model: ModelFiles
  let owner: KeyOwner
  let session: string
  beforeAll(async () => {
    ;({ app, model } = await startApp({ poolSize: 1, requestTimeoutMs: DEADLINE_MS, queueWaitMs: 120_000, faults }))
    owner = await KeyOwner.create(await publicModelOf(app))
    session = await newSession(app, owner)
  })
  afterAll(async () => {
    owner?.dispose()
    await app?.close()
  })

  it('answers 504 timeout past the evaluation deadline, cancels cooperatively and keeps the worker', async () => {
    const pool = poolOf(app)
    const worker = pool.workers()[0]
    const [d] = digits(model, 0, 1)
    // stages that outlast the deadline: only the raised cancel flag stops them
    faults.slowStages(120_000)
    const r = await postClassify(app, session, owner.encrypt(d.x))
    faults.slowStages(0)
    expect(r.statusCode).toBe(504)
    expect(errorCode(r)).toBe('timeout')
    expect(pool.stats.timeouts).toBe(1)
    // the same thread, its models and keys intact, answers the next job
    const ok = await classifyDigit(app, owner, session, d.x)
    expect(ok.status).toBe(200)
    expect(ok.predicted).toBe(d.expected)
    expect(pool.stats.replaced).toBe(0)
    expect(pool.stats.crashes).toBe(0)
    expect(pool.workers()).toEqual([worker])
  })

  it('counts the deadline from a worker taking the job: time in the queue does not count', async () => {
    const pool = poolOf(app)
    const before = { ...pool.stats }
    const [a, b] = digits(model, 10, 2)
    // the first job holds the only worker for one and a half deadlines (deaf to its flag, yet
    // back within the grace), so the second waits in the queue longer than a deadline; the
    // deadline is the model's own (its floor, or a multiple of its measured time)
    faults.stickNextJob(1.5 * pool.deadlineMs(model.manifest.name))
    const first = postClassify(app, session, owner.encrypt(a.x))
    await until(() => pool.busyWorkers().length === 1, 'the first job running')
    const second = classifyDigit(app, owner, session, b.x)
    await until(() => pool.queued === 1, 'the second job queued')
    expect(errorCode(await first)).toBe('timeout')
    const ok = await second
    expect(ok.status).toBe(200)
    expect(ok.predicted).toBe(b.expected)
    expect(pool.stats.timeouts).toBe(before.timeouts + 1)
    expect(pool.stats.queueTimeouts).toBe(0)
    expect(pool.stats.replaced).toBe(0)
  })

  it('replaces a worker that stays stuck through the grace after its deadline; the replacement serves', async () => {
    const pool = poolOf(app)
    const before = { ...pool.stats }
    const stuck = pool.workers()[0]
    const [d] = digits(model, 20, 1)
    faults.stickNextJob(10 * 60_000)
    const r = await postClassify(app, session, owner.encrypt(d.x))
    expect(errorCode(r)).toBe('timeout')
    await until(() => pool.stats.replaced === before.replaced + 1 && pool.isReady() && !pool.workers().includes(stuck), 'the stuck worker replaced', 110_000)
    expect(pool.stats.timeouts).toBe(before.timeouts + 1)
    expect(pool.stats.crashes).toBe(before.crashes)
    // the session's keys go to the new worker on demand
    const ok = await classifyDigit(app, owner, session, d.x)
    expect(ok.status).toBe(200)
    expect(ok.predicted).toBe(d.expected)
  }, 150_000)
})

describe('dispatch', () => {
  it('lets no job be overtaken by more than MAX_PASSED_OVER later jobs whose keys the worker holds', async () => {
    // one worker holding two sessions' keys (A's and D's, the last validated): B's and C's jobs
    // must load keys, and after B's the worker still holds A's (so A's jobs could overtake C's again)
    const { app, model } = await startApp({ poolSize: 1, workerKeyCache: 2, queueMax: 64, queueWaitMs: 120_000 })
    const pm = await publicModelOf(app)
    const [a, b, c, d4] = await Promise.all([KeyOwner.create(pm), KeyOwner.create(pm), KeyOwner.create(pm), KeyOwner.create(pm)])
    try {
      const pool = poolOf(app)
      const [sb, sc] = [await newSession(app, b), await newSession(app, c)]
      await newSession(app, d4)
      const sa = await newSession(app, a)
      const d = digits(model, 30, 1)[0]
      const [bodyA, bodyB, bodyC] = [a.encrypt(d.x), b.encrypt(d.x), c.encrypt(d.x)]
      const answered: string[] = []
      const post = (session: string, body: Uint8Array, label: string) =>
        postClassify(app, session, body).then((r) => {
          expect(r.statusCode).toBe(200)
          answered.push(label)
        })
      // A's first job runs (the worker now holds A's keys, not B's) ...
      const all = [post(sa, bodyA, 'a0')]
      await until(() => pool.busyWorkers().length === 1, 'a busy worker')
      // ... then B's and C's jobs are the oldest in the queue, and many of A's queue behind them, in this order
      const laterA = 2 * MAX_PASSED_OVER + 4
      all.push(post(sb, bodyB, 'b'))
      await until(() => pool.queued === 1, "B's job queued")
      all.push(post(sc, bodyC, 'c'))
      await until(() => pool.queued === 2, "C's job queued")
      for (let k = 1; k <= laterA; k++) {
        all.push(post(sa, bodyA, `a${k}`))
        await until(() => pool.queued === k + 2 || answered.length > 0, `A's job ${k} queued`)
      }
      await Promise.all(all)
      expect(answered).toHaveLength(laterA + 3)
      // affinity let A's later jobs go first, but no more than the bound for either job (unbounded,
      // B and C would be last; bounding the oldest job only, C would wait for up to twice the bound)
      const overtakers = (label: string) => answered.slice(0, answered.indexOf(label)).filter((x) => x.startsWith('a') && x !== 'a0').length
      expect(overtakers('b')).toBeGreaterThan(0)
      expect(overtakers('b')).toBeLessThanOrEqual(MAX_PASSED_OVER)
      expect(overtakers('c')).toBeLessThanOrEqual(MAX_PASSED_OVER)
    } finally {
      for (const o of [a, b, c, d4]) o.dispose()
      await app.close()
    }
  }, 300_000)
})

/**
 * A pool whose clients ask for one image each under a label: `answered` lists the labels in the
 * order they were answered, a failure as `label:status`.
 */
async function clientsOfOnePool(options: { poolSize: number; queueMax: number }) {
  const faults = new InjectedFaults()
  const { app, model } = await startApp({ ...options, queueWaitMs: 120_000, faults })
  const owner = await KeyOwner.create(await publicModelOf(app))
  const pool = poolOf(app)
  const body = owner.encrypt(digits(model, 0, 1)[0].x)
  const answered: string[] = []
  const ask = (client: string, label: string) =>
    pool.classify('s', model.manifest.name, owner.evaluationKeys, body, label, { client }).then(
      () => answered.push(label),
      (e: { statusCode?: number }) => answered.push(`${label}:${e.statusCode}`),
    )
  return { app, owner, pool, faults, answered, ask }
}

describe('clients in turn', () => {
  it("takes a newcomer's job before another client's backlog, and displaces the backlog's newest when the queue is full", async () => {
    const { app, owner, pool, faults, answered, ask } = await clientsOfOnePool({ poolSize: 1, queueMax: 2 })
    try {
      // client A holds the only worker, then queues two more: the queue (2 places) is full
      faults.slowStages(120_000)
      const held = ask('a', 'a0')
      faults.slowStages(0)
      await until(() => pool.busyWorkers().length === 1, "A's first job running")
      const jobs = [held, ask('a', 'a1'), ask('a', 'a2')]
      await until(() => pool.queued === 2, "A's backlog queued")
      // B, holding no place, takes A's newest place; C then finds A within a share it may keep
      jobs.push(ask('b', 'b1'))
      await until(() => answered.includes('a2:503'), "A's newest job displaced")
      jobs.push(ask('c', 'c1'))
      await until(() => answered.includes('c1:503'), "C's job refused")
      expect(pool.queued).toBe(2)
      pool.cancel('a0')
      await Promise.all(jobs)
      // A was served last (a0): B goes first although A's job is older
      expect(answered).toEqual(['a2:503', 'c1:503', 'a0:409', 'b1', 'a1'])
      expect(pool.stats.replaced).toBe(0)
    } finally {
      owner.dispose()
      await app.close()
    }
  }, 120_000)
})

describe('a worker kept for other clients', () => {
  it('leaves a worker idle for a client served recently, which takes it ahead of the backlog of the client holding the other', async () => {
    const { app, owner, pool, faults, answered, ask } = await clientsOfOnePool({ poolSize: 2, queueMax: 4 })
    try {
      await ask('b', 'b0')
      // A's first job holds a worker; its second waits although the other worker is idle
      faults.slowStages(120_000)
      const jobs = [ask('a', 'a0')]
      faults.slowStages(0)
      await until(() => pool.busyWorkers().length === 1, "A's first job running")
      jobs.push(ask('a', 'a1'))
      expect(pool.queued).toBe(1)
      expect(pool.busyWorkers()).toHaveLength(1)
      // B comes back and takes the kept worker at once
      jobs.push(ask('b', 'b1'))
      expect(pool.queued).toBe(1)
      expect(pool.busyWorkers()).toHaveLength(2)
      await until(() => answered.includes('b1'), "B's second job answered")
      expect(pool.queued).toBe(1)
      pool.cancel('a0')
      await Promise.all(jobs)
      expect(answered).toEqual(['b0', 'b1', 'a0:409', 'a1'])
      expect(pool.stats.replaced).toBe(0)
    } finally {
      owner.dispose()
      await app.close()
    }
  }, 120_000)
})

describe('a model too large for a worker heap', () => {
  it('fails the start with its size and costliest stage, and readyz answers 503', async () => {
    // Fashion-MNIST convs of 64 and 128 filters at N = 8192: 4.15 GiB of encoded weights
    const files = randomModelFiles({ name: 'too-large', layers: parseArch('c5s1p0-64,poly,pool2,c3s2p1-128,poly,dense', 'image'), he: parseHeParams('8192:38,28x5,40:28'), seed: 3 })
    const app = await buildApp({ models: new Map([[files.manifest.name, files]]), poolSize: 1, rateLimitMax: 0 })
    try {
      await expect(poolOf(app).ready).rejects.toThrow(/model too-large: its encoded weights need 4\.\d\d GiB .*stage 2/)
      const r = await app.inject({ method: 'GET', url: paths.ready })
      expect(r.statusCode).toBe(503)
    } finally {
      await app.close()
    }
  })
})
