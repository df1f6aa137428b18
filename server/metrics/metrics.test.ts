/**
 * GET /metrics: the Prometheus exposition of a real app after real work (sessions, classifications,
 * a refused request, a worker crash), who may read it, and the job id / request id pairing in logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Writable } from 'node:stream'
import { buildApp, type AppOptions } from '../app'
import { loggerOptions } from '../http/logging'
import { KeyOwner } from '../../src/he/key-owner'
import { paths } from '../../src/api/wire'
import type { ModelFiles } from '../../src/datasets/model-files'
import { codeLabel } from './metrics'
import { metricsAccess } from '../routes/metrics'
import { classifyDigit, digits, errorCode, newSession, postClassify, publicModelOf, startApp, poolOf } from '../test-support/harness'
import { InjectedFaults } from '../test-support/faults'
import { testModels } from '../test-support/models'
import { rawRequest } from '../test-support/raw-http'
import { parse, sample, type Sample } from '../test-support/prometheus'

function getMetrics(app: FastifyInstance, remoteAddress = '127.0.0.1', headers: Record<string, string> = {}) {
  return app.inject({ method: 'GET', url: '/metrics', remoteAddress, headers })
}

async function scrape(app: FastifyInstance): Promise<Sample[]> {
  const r = await getMetrics(app)
  expect(r.statusCode).toBe(200)
  return parse(r.body)
}

function expectNotFound(r: LightMyRequestResponse) {
  expect(r.statusCode).toBe(404)
  expect(r.headers['content-type']).toMatch(/^application\/json/)
  expect(r.json()).toEqual({ error: { code: 'not_found', message: 'no such route' } })
  expect(r.body).not.toContain('blindfold_')
}

describe('GET /metrics after real work', () => {
  let app: FastifyInstance
  const faults = new InjectedFaults()
  let model: ModelFiles
  let owner: KeyOwner
  const logs: Array<Record<string, unknown>> = []
  let sessionId = ''

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>)
        done()
      },
    })
    // the server's own log options (no URLs: they hold session ids), into `logs`
    ;({ app, model } = await startApp({ poolSize: 1, faults, logger: { ...(loggerOptions('info') as object), stream } as AppOptions['logger'] }))
    owner = await KeyOwner.create(await publicModelOf(app))
  })
  afterAll(async () => {
    owner?.dispose()
    await app?.close()
  })

  it('counts sessions, evaluations, key-cache hits and refusals', async () => {
    sessionId = await newSession(app, owner)
    for (const d of digits(model, 0, 2)) {
      const r = await classifyDigit(app, owner, sessionId, d.x)
      expect(r.status).toBe(200)
      expect(r.predicted).toBe(d.expected)
    }
    const bad = await postClassify(app, 'no-such-session', owner.encrypt(digits(model, 0, 1)[0].x))
    expect(errorCode(bad)).toBe('unknown_session')

    const r = await getMetrics(app)
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(r.headers['cache-control']).toBe('no-store')
    const s = parse(r.body)
    const name = model.manifest.name
    expect(sample(s, 'blindfold_sessions')).toBe(1)
    expect(sample(s, 'blindfold_session_key_bytes')).toBe(owner.evaluationKeys.byteLength)
    expect(sample(s, 'blindfold_queue_depth')).toBe(0)
    expect(sample(s, 'blindfold_evaluation_seconds_count', { model: name, op: 'classify' })).toBe(2)
    expect(sample(s, 'blindfold_evaluation_seconds_count', { model: name, op: 'validate' })).toBe(1)
    expect(sample(s, 'blindfold_evaluation_seconds_sum', { model: name, op: 'classify' })).toBeGreaterThan(0)
    expect(sample(s, 'blindfold_evaluation_seconds_bucket', { model: name, op: 'classify', le: '+Inf' })).toBe(2)
    expect(sample(s, 'blindfold_queue_wait_seconds_count', { op: 'classify' })).toBe(2)
    expect(sample(s, 'blindfold_queue_wait_seconds_count', { op: 'validate' })).toBe(1)
    // one worker: the keys go to it with the validation, both classifications find them there
    expect(sample(s, 'blindfold_key_cache_total', { result: 'miss' })).toBe(1)
    expect(sample(s, 'blindfold_key_cache_total', { result: 'hit' })).toBe(2)
    expect(sample(s, 'blindfold_rejected_requests_total', { code: 'unknown_session' })).toBe(1)
    for (const reason of ['crash', 'timeout', 'heap_limit', 'seal_fault']) {
      expect(sample(s, 'blindfold_worker_restarts_total', { reason })).toBe(0)
    }
    // prom-client's process metrics, on this app's registry
    expect(sample(s, 'process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(s.some((x) => x.name === 'nodejs_heap_size_used_bytes')).toBe(true)
    // no session id, client address or key in the exposition
    expect(r.body).not.toContain(sessionId)
    expect(r.body).not.toContain('127.0.0.1')
  })

  it('answers loopback clients only; others get the API not_found, counted as such', async () => {
    for (const ip of ['::1', '::ffff:127.0.0.1', '127.0.0.2']) expect((await getMetrics(app, ip)).statusCode, ip).toBe(200)
    for (const ip of ['203.0.113.9', '10.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', 'fe80::1']) expectNotFound(await getMetrics(app, ip))
    // through a proxy on this host that TRUST_PROXY does not name: the real client is unknown
    expectNotFound(await getMetrics(app, '127.0.0.1', { 'x-forwarded-for': '203.0.113.9' }))
    expectNotFound(await getMetrics(app, '127.0.0.1', { forwarded: 'for=203.0.113.9' }))
    // the refusal is the unknown route's answer
    const unknown = await app.inject({ method: 'GET', url: '/nothing-here', remoteAddress: '203.0.113.9' })
    expect(unknown.json()).toEqual((await getMetrics(app, '203.0.113.9')).json())
    const s = await scrape(app)
    expect(sample(s, 'blindfold_rejected_requests_total', { code: 'not_found' })).toBe(9)
  })

  it('labels only the documented error codes', () => {
    expect(codeLabel('unknown_session')).toBe('unknown_session')
    expect(codeLabel('<script>')).toBe('other')
    expect(codeLabel(undefined)).toBe('other')
  })

  it('counts a worker restart after a crash, and logs the job id with the request id', async () => {
    faults.crashNextJob()
    const [d] = digits(model, 5, 1)
    const crashed = await classifyDigit(app, owner, sessionId, d.x)
    expect(crashed.code).toBe('worker_crashed')
    const s = await scrape(app)
    expect(sample(s, 'blindfold_worker_restarts_total', { reason: 'crash' })).toBe(1)
    expect(sample(s, 'blindfold_worker_restarts_total', { reason: 'timeout' })).toBe(0)
    expect(sample(s, 'blindfold_rejected_requests_total', { code: 'worker_crashed' })).toBe(1)

    const died = logs.find((l) => l.msg === 'pool worker died during a job')
    expect(died).toBeDefined()
    expect(typeof died!.jobId).toBe('number')
    expect(typeof died!.reqId).toBe('string')
    // the same reqId as Fastify's own lines for that request
    const completed = logs.find((l) => l.msg === 'request completed' && l.reqId === died!.reqId)
    expect((completed?.res as { statusCode?: number } | undefined)?.statusCode).toBe(500)
    expect(JSON.stringify(logs)).not.toContain(sessionId)

    // the replacement serves on: the keys are sent to it again (a miss)
    const ok = await classifyDigit(app, owner, sessionId, d.x)
    expect(ok.predicted).toBe(d.expected)
    const after = await scrape(app)
    expect(sample(after, 'blindfold_key_cache_total', { result: 'miss' })).toBe(2)
    expect(sample(after, 'blindfold_evaluation_seconds_count', { model: model.manifest.name, op: 'classify' })).toBe(3)
  })

  it('counts a retirement after a SEAL fault by its reason', async () => {
    const pool = poolOf(app)
    faults.trapNextJob()
    const [d] = digits(model, 6, 1)
    expect((await classifyDigit(app, owner, sessionId, d.x)).code).toBe('seal_fault')
    // the retiring worker exits after its answer, then is replaced
    const end = Date.now() + 20_000
    while (pool.stats.replaced < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
    const s = await scrape(app)
    expect(sample(s, 'blindfold_worker_restarts_total', { reason: 'seal_fault' })).toBe(1)
    expect(sample(s, 'blindfold_worker_restarts_total', { reason: 'crash' })).toBe(1)
    expect(sample(s, 'blindfold_rejected_requests_total', { code: 'seal_fault' })).toBe(1)
    const retiring = logs.find((l) => l.msg === 'pool worker retiring')
    expect(retiring).toMatchObject({ reason: 'seal_fault', jobId: expect.any(Number), reqId: expect.any(String) })
  })
})

describe('METRICS_ALLOW', () => {
  it('matches addresses and CIDRs besides loopback, v4 and v6', () => {
    const allowed = metricsAccess(['203.0.113.0/24', '2001:db8::/32', '198.51.100.7'])
    const at = (ip: string, headers: Record<string, string> = {}) => allowed({ ip, headers, socket: { remoteAddress: ip } } as never)
    for (const ip of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '203.0.113.200', '::ffff:203.0.113.1', '2001:db8:1::5', '198.51.100.7']) {
      expect(at(ip), ip).toBe(true)
    }
    for (const ip of ['203.0.114.1', '198.51.100.8', '2001:db9::1', '', 'garbage']) expect(at(ip), ip).toBe(false)
    // a proxy header that request.ip did not come from (TRUST_PROXY does not name the proxy)
    expect(at('203.0.113.5', { 'x-real-ip': '1.2.3.4' })).toBe(false)
    // a trusted proxy's header gave request.ip: the client's own address decides
    expect(allowed({ ip: '203.0.113.5', headers: { 'x-forwarded-for': '203.0.113.5' }, socket: { remoteAddress: '10.0.0.2' } } as never)).toBe(true)
    // TRUST_PROXY=1: anyone can write 127.0.0.1 into X-Forwarded-For, so no proxied request is answered
    const everyHop = metricsAccess([], { trustEveryHop: true })
    expect(everyHop({ ip: '127.0.0.1', headers: { 'x-forwarded-for': '127.0.0.1' }, socket: { remoteAddress: '198.51.100.3' } } as never)).toBe(false)
    expect(everyHop({ ip: '127.0.0.1', headers: {}, socket: { remoteAddress: '127.0.0.1' } } as never)).toBe(true)
  })

  it('exempts allowed scrapes from the rate limit; refused ones are charged like an unknown route; readyz 503 is counted', async () => {
    const app = await buildApp({ models: await testModels(), poolSize: 1, rateLimitMax: 3, metricsAllow: ['203.0.113.0/24'] })
    try {
      // readyz's 503 while the workers load is answered outside the error handler, and counted by its body's code
      expect((await app.inject({ method: 'GET', url: paths.ready })).statusCode).toBe(503)
      expect(sample(parse((await getMetrics(app, '203.0.113.7')).body), 'blindfold_rejected_requests_total', { code: 'not_ready' })).toBe(1)
      for (let i = 0; i < 5; i++) expect((await getMetrics(app, '203.0.113.7')).statusCode).toBe(200)
      const refused = []
      for (let i = 0; i < 4; i++) refused.push((await getMetrics(app, '198.51.100.1')).statusCode)
      expect(refused).toEqual([404, 404, 404, 429])
      // answers given before routing (framework-errors.ts) are counted too
      const address = await app.listen({ port: 0, host: '127.0.0.1' })
      const port = Number(new URL(address).port)
      expect((await rawRequest(port, [`GET ${paths.sessions}/%00%ff HTTP/1.1`, 'Host: x', 'Connection: close'])).status).toBe(400)
      expect((await rawRequest(port, [`GET ${paths.models} HTTP/1.1`, 'Host: x', `X-Filler: ${'x'.repeat(20_000)}`])).status).toBe(431)
      const s = parse((await getMetrics(app, '203.0.113.7')).body)
      expect(sample(s, 'blindfold_rejected_requests_total', { code: 'bad_url' })).toBe(1)
      expect(sample(s, 'blindfold_rejected_requests_total', { code: 'headers_too_large' })).toBe(1)
      expect(sample(s, 'blindfold_rejected_requests_total', { code: 'rate_limited' })).toBe(1)
      expect(sample(s, 'blindfold_rejected_requests_total', { code: 'not_found' })).toBe(3)
    } finally {
      await app.close()
    }
  })

  it('none: no metrics route at all', async () => {
    const app = await buildApp({ models: await testModels(), poolSize: 1, rateLimitMax: 0, metricsAllow: false })
    try {
      expectNotFound(await getMetrics(app))
      expect((await app.inject({ method: 'GET', url: paths.health })).statusCode).toBe(200)
    } finally {
      await app.close()
    }
  })
})
