/**
 * Following and stopping classifications over real HTTP on loopback, through the real
 * pool threads: progress stage by stage, cancel by DELETE (running and queued), cancel by
 * the client closing its POST, request-id errors, and the costs GET /models publishes.
 * Jobs are made slow enough to watch with the pool's stage-delay test hook (a cancel
 * wakes it), never by timing assertions.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { BINARY, headers, paths, type JobProgress, type ModelsResponse, type SessionCreated } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { argmax } from '../../src/model/forward'
import type { ModelFiles } from '../../src/datasets/model-files'
import { buildApp } from '../app'
import { digits, publicModelOf, startApp, until, poolOf } from '../test-support/harness'
import { InjectedFaults } from '../test-support/faults'

/** classifications per session here: a refunded query shows as one more answer than this */
const QUERIES_PER_SESSION = 2

let app: FastifyInstance
const faults = new InjectedFaults()
let model: ModelFiles
let owner: KeyOwner
let base: string

beforeAll(async () => {
  ;({ app, model } = await startApp({ poolSize: 1, faults, maxQueriesPerSession: QUERIES_PER_SESSION, sessionsPerClient: 32, queueMax: 8 }))
  base = await app.listen({ port: 0, host: '127.0.0.1' })
  owner = await KeyOwner.create(await publicModelOf(app))
})
afterAll(async () => {
  owner?.dispose()
  await app?.close()
})

const rid = () => randomUUID()
const pool = () => poolOf(app)
const stageNames = () => app.blindfold.models.get(model.manifest.name)!.stageNames

async function session(): Promise<string> {
  const r = await fetch(`${base}${paths.sessions}?model=${model.manifest.name}`, { method: 'POST', headers: { 'content-type': BINARY }, body: owner.evaluationKeys })
  expect(r.status).toBe(201)
  return ((await r.json()) as SessionCreated).sessionId
}

/** POST classify of digit `k`; `requestId` in its header when given */
function classify(sessionId: string, k: number, requestId?: string, signal?: AbortSignal) {
  const [d] = digits(model, 200 + k, 1)
  const h: Record<string, string> = { 'content-type': BINARY }
  if (requestId !== undefined) h[headers.requestId] = requestId
  const answer = fetch(`${base}${paths.classify(sessionId)}`, { method: 'POST', headers: h, body: owner.encrypt(d.x), signal })
  return { expected: d.expected, answer }
}

async function progress(sessionId: string, requestId: string): Promise<{ status: number; body: JobProgress & { error?: { code: string } } }> {
  const r = await fetch(`${base}${paths.job(sessionId, requestId)}`)
  return { status: r.status, body: (await r.json()) as JobProgress & { error?: { code: string } } }
}

const cancel = (sessionId: string, requestId: string) => fetch(`${base}${paths.job(sessionId, requestId)}`, { method: 'DELETE' })
const codeOf = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code

/** Polls GET paths.job every 10 ms while `running` is pending; every answer, in order. */
async function watch(sessionId: string, requestId: string, running: Promise<unknown>): Promise<JobProgress[]> {
  const seen: JobProgress[] = []
  let over = false
  void running.finally(() => (over = true))
  while (!over) {
    const p = await progress(sessionId, requestId)
    if (p.status === 200) seen.push(p.body)
    await new Promise((r) => setTimeout(r, 10))
  }
  return seen
}

/** A component schema of the OpenAPI document this server serves. */
const schema = async (name: string) => {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true })
  ajv.addSchema((await (await fetch(`${base}${paths.openapi}`)).json()) as object, 'api')
  return ajv.getSchema(`api#/components/schemas/${name}`)!
}

describe('model costs in GET /models', () => {
  it('publishes sizes from the start and the measured time after a classification', async () => {
    const models = async () => ((await (await fetch(`${base}${paths.models}`)).json()) as ModelsResponse).models
    const validate = await schema('ModelsResponse')
    const before = await models()
    expect(validate({ models: before }), JSON.stringify(validate.errors)).toBe(true)
    for (const m of before) {
      expect(m.cost.serverMs).toBeNull()
      expect(m.cost.measured).toEqual({ evaluationKeys: false, request: false, response: false })
      // nothing uploaded yet: the exact sizes of packed keys and requests
      expect(m.cost.evaluationKeyBytes).toBe(8 + m.client.keys.sections.reduce((n, s) => n + 4 + s.packed.bytes, 0))
      expect(m.cost.requestBytes).toBe(8 + m.client.request.sections * (4 + m.client.request.packed.bytes))
      expect(m.cost.responseBytes).toBe(8 + m.client.response.sections * (4 + m.client.response.packed.bytes))
    }
    const mine = before.find((m) => m.name === model.manifest.name)!
    expect(owner.evaluationKeys.byteLength).toBe(mine.cost.evaluationKeyBytes)

    const id = await session()
    const [d] = digits(model, 300, 1)
    const request = owner.encrypt(d.x)
    const r = await fetch(`${base}${paths.classify(id)}`, { method: 'POST', headers: { 'content-type': BINARY }, body: request })
    expect(r.status).toBe(200)
    const response = new Uint8Array(await r.arrayBuffer())
    const after = await models()
    expect(validate({ models: after }), JSON.stringify(validate.errors)).toBe(true)
    const cost = after.find((m) => m.name === model.manifest.name)!.cost
    expect(cost.evaluationKeyBytes).toBe(owner.evaluationKeys.byteLength)
    expect(cost.requestBytes).toBe(request.byteLength)
    expect(cost.responseBytes).toBe(response.byteLength)
    // the published size of a packed response is what the server writes
    expect(response.byteLength).toBe(8 + mine.client.response.sections * (4 + mine.client.response.packed.bytes))
    expect(cost.serverMs?.samples).toBe(1)
    expect(cost.measured).toEqual({ evaluationKeys: true, request: true, response: true })
    // the header has one decimal too (toFixed); the two roundings may differ in the last digit
    expect(Math.abs(cost.serverMs!.median - Number(r.headers.get(headers.serverMs)))).toBeLessThanOrEqual(0.1)
    // the other models have not been used
    for (const m of after.filter((m) => m.name !== model.manifest.name)) expect(m.cost.serverMs).toBeNull()
  })
})

describe('progress', () => {
  it('is reported stage by stage while the image is evaluated, then done === total', async () => {
    const id = await session()
    const requestId = rid()
    faults.slowStages(300)
    try {
      const { expected, answer } = classify(id, 1, requestId)
      const seen = await watch(id, requestId, answer)
      const r = await answer
      expect(r.status).toBe(200)
      expect(argmax(owner.decrypt(new Uint8Array(await r.arrayBuffer())))).toBe(expected)

      const total = stageNames().length
      const validate = await schema('JobProgress')
      for (const p of seen) {
        expect(validate(p), JSON.stringify(validate.errors)).toBe(true)
        expect(p).toMatchObject({ requestId, total })
        if (p.state === 'running' && p.done < total) expect(p.stage).toBe(stageNames()[p.done])
      }
      // never backwards, and every stage was seen finishing while the POST was open
      const done = seen.map((p) => p.done)
      expect(done).toEqual([...done].sort((a, b) => a - b))
      const running = new Set(seen.filter((p) => p.state === 'running').map((p) => p.done))
      for (let k = 1; k < total; k++) expect(running.has(k), `saw ${k} of ${total} done`).toBe(true)
      // the final state stays readable after the answer
      expect((await progress(id, requestId)).body).toEqual({ requestId, state: 'done', done: total, total })
    } finally {
      faults.slowStages(0)
    }
  })

  it('reaches the pool caller stage by stage, with the stage that runs next', async () => {
    const [d] = digits(model, 310, 1)
    const seen: Array<{ done: number; total: number; stage?: string }> = []
    await pool().classify('direct', model.manifest.name, owner.evaluationKeys, owner.encrypt(d.x), undefined, { onProgress: (p) => seen.push(p) })
    const names = stageNames()
    expect(seen).toEqual(names.map((_, k) => ({ done: k + 1, total: names.length, stage: names[k + 1] })))
  })
})

describe('cancel by DELETE', () => {
  it('stops a running job: its POST answers 409 cancelled, the query is given back, the worker serves the next', async () => {
    const id = await session()
    const requestId = rid()
    const stats = { ...pool().stats }
    faults.slowStages(30_000)
    const { answer } = classify(id, 2, requestId)
    await untilPoll(id, requestId, (p) => p.state === 'running')
    const del = await cancel(id, requestId)
    expect(del.status).toBe(204)
    const r = await answer
    expect(r.status).toBe(409)
    expect(await codeOf(r)).toBe('cancelled')
    expect((await progress(id, requestId)).body).toMatchObject({ requestId, state: 'cancelled' })
    faults.slowStages(0)
    // the worker is the same one (no replacement) and free: this session's whole budget still answers
    for (let k = 0; k < QUERIES_PER_SESSION; k++) {
      const next = classify(id, 3 + k)
      const ok = await next.answer
      expect(ok.status).toBe(200)
      expect(argmax(owner.decrypt(new Uint8Array(await ok.arrayBuffer())))).toBe(next.expected)
    }
    expect(pool().stats.replaced).toBe(stats.replaced)
    expect(pool().stats.cancelled).toBe(stats.cancelled + 1)
    // a finished job stays as it ended
    expect((await cancel(id, requestId)).status).toBe(204)
    expect((await progress(id, requestId)).body.state).toBe('cancelled')
  })

  it('removes a queued job from the queue while the one ahead runs on', async () => {
    const id = await session()
    const [first, second] = [rid(), rid()]
    faults.slowStages(30_000)
    try {
      const ahead = classify(id, 5, first)
      await untilPoll(id, first, (p) => p.state === 'running')
      const queued = classify(id, 6, second)
      const waiting = await untilPoll(id, second, (p) => p.state === 'queued' && p.queuePosition !== undefined)
      expect(waiting).toEqual({ requestId: second, state: 'queued', queuePosition: 0, done: 0, total: stageNames().length })
      expect(pool().queued).toBe(1)
      expect((await cancel(id, second)).status).toBe(204)
      const r = await queued.answer
      expect(r.status).toBe(409)
      expect(await codeOf(r)).toBe('cancelled')
      expect(pool().queued).toBe(0)
      // the job ahead was not disturbed
      expect((await progress(id, first)).body.state).toBe('running')
      expect((await cancel(id, first)).status).toBe(204)
      expect((await ahead.answer).status).toBe(409)
    } finally {
      faults.slowStages(0)
    }
  })
})

describe('cancel by closing the POST', () => {
  it('stops the work of a named job and of an unnamed one, and gives their queries back', async () => {
    const id = await session()
    const cancelled = pool().stats.cancelled
    faults.slowStages(30_000)
    try {
      const requestId = rid()
      const named = new AbortController()
      const a = classify(id, 7, requestId, named.signal)
      await untilPoll(id, requestId, (p) => p.state === 'running')
      named.abort()
      await expect(a.answer).rejects.toThrow()
      await until(() => pool().busyWorkers().length === 0, 'the worker freed by the abort', 15_000)
      expect(pool().stats.cancelled).toBe(cancelled + 1)
      await untilPoll(id, requestId, (p) => p.state === 'cancelled')

      const unnamed = new AbortController()
      const b = classify(id, 8, undefined, unnamed.signal)
      await until(() => pool().busyWorkers().length === 1, 'the unnamed job running')
      unnamed.abort()
      await expect(b.answer).rejects.toThrow()
      await until(() => pool().busyWorkers().length === 0, 'the worker freed by the abort', 15_000)
      expect(pool().stats.cancelled).toBe(cancelled + 2)
    } finally {
      faults.slowStages(0)
    }
    // neither counted against the session
    for (let k = 0; k < QUERIES_PER_SESSION; k++) expect((await classify(id, 9 + k).answer).status).toBe(200)
  })
})

describe('request ids', () => {
  it('refuses a malformed id before the body, and answers unknown_job for ids it does not know in this session', async () => {
    const id = await session()
    for (const bad of ['short', 'x'.repeat(65), 'has space in it 1234', 'dots.are.not.allowed.here']) {
      const r = await classify(id, 11, bad).answer
      expect(r.status, bad).toBe(400)
      expect(await codeOf(r)).toBe('bad_request')
    }
    const bad = await fetch(`${base}${paths.job(id, 'short')}`)
    expect(bad.status).toBe(400)
    expect(await codeOf(bad)).toBe('bad_request')

    const unknown = await progress(id, rid())
    expect(unknown.status).toBe(404)
    expect(unknown.body.error?.code).toBe('unknown_job')
    const del = await cancel(id, rid())
    expect(del.status).toBe(404)
    expect(await codeOf(del)).toBe('unknown_job')

    // a finished job is found under its own session only
    const requestId = rid()
    expect((await classify(id, 12, requestId).answer).status).toBe(200)
    expect((await progress(id, requestId)).body.state).toBe('done')
    // a poll must never be answered from a cache
    expect((await fetch(`${base}${paths.job(id, requestId)}`)).headers.get('cache-control')).toBe('no-store')
    const other = await session()
    expect((await progress(other, requestId)).status).toBe(404)
    expect((await progress('no-such-session', requestId)).status).toBe(404)
  })

  it('refuses a second live job under the same id in one session (409 request_id_in_use), not in another', async () => {
    const [id, other] = [await session(), await session()]
    const requestId = rid()
    faults.slowStages(30_000)
    try {
      const first = classify(id, 13, requestId)
      await untilPoll(id, requestId, (p) => p.state === 'running')
      const again = await classify(id, 14, requestId).answer
      expect(again.status).toBe(409)
      expect(await codeOf(again)).toBe('request_id_in_use')
      // the same id in another session is another job
      const elsewhere = classify(other, 15, requestId)
      await untilPoll(other, requestId, (p) => p.state === 'queued' && p.queuePosition === 0)
      expect((await progress(id, requestId)).body.state).toBe('running')
      for (const s of [other, id]) expect((await cancel(s, requestId)).status).toBe(204)
      expect((await first.answer).status).toBe(409)
      expect((await elsewhere.answer).status).toBe(409)
    } finally {
      faults.slowStages(0)
    }
    // once ended, the id may be used again
    expect((await classify(id, 16, requestId).answer).status).toBe(200)
  })
})

describe('polls and the rate limit', () => {
  it('cost one point each, like any GET: bounded by the client\'s bucket, not priced like a classification', async () => {
    const limited = await buildApp({ models: app.blindfold.models, poolSize: 1, rateLimitMax: 30, rateCostClassify: 10 })
    try {
      const poll = () => limited.inject({ method: 'GET', url: paths.job('some-session', rid()), remoteAddress: '10.1.2.3' })
      for (let i = 0; i < 25; i++) expect((await poll()).statusCode).toBe(404)
      // 5 points left: too few for a classification (10), enough for 5 more polls
      const post = await limited.inject({ method: 'POST', url: paths.classify('some-session'), remoteAddress: '10.1.2.3', headers: { 'content-type': BINARY }, payload: Buffer.alloc(10) })
      expect(post.statusCode).toBe(429)
      for (let i = 0; i < 5; i++) expect((await poll()).statusCode).toBe(404)
      expect((await poll()).statusCode).toBe(429)
    } finally {
      await limited.close()
    }
  })
})

/** Polls GET paths.job every 10 ms until `cond` holds of its answer. */
async function untilPoll(sessionId: string, requestId: string, cond: (p: JobProgress) => boolean): Promise<JobProgress> {
  const end = Date.now() + 30_000
  for (;;) {
    const p = await progress(sessionId, requestId)
    if (p.status === 200 && cond(p.body)) return p.body
    if (Date.now() > end) throw new Error(`job ${requestId}: last answer ${JSON.stringify(p.body)}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
