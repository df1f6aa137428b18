/**
 * The HTTP surface an outside attacker probes: every error in the API format with the security
 * headers and no-store, bodies refused from their headers where none belong, cost-weighted rate
 * limits (the not-found handler behind them too), readiness without counts. Real sockets where
 * it matters whether a body is read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { BINARY, paths } from '../../src/api/wire'
import { MAX_MESSAGE_CHARS } from './http-error'
import { SECURITY_HEADERS } from './security-headers'
import { rawRequest, type RawAnswer } from '../test-support/raw-http'
import { startApp } from '../test-support/harness'

const BIG = 13 * 1024 * 1024
let clock = 1_000_000
let guarded: FastifyInstance // rate limit 100 points per minute, a trusted proxy, inject only
let listening: FastifyInstance // default configuration, on a loopback port
let port: number

beforeAll(async () => {
  // behind one trusted proxy at 127.0.0.1 (inject's default address); every other address is a direct client
  ;({ app: guarded } = await startApp({ rateLimitMax: 100, rateLimitWindowSeconds: 60, trustProxy: '127.0.0.1', now: () => clock }))
  ;({ app: listening } = await startApp({ rateLimitMax: undefined }))
  const address = await listening.listen({ port: 0, host: '127.0.0.1' })
  port = Number(new URL(address).port)
})
afterAll(async () => {
  await guarded?.close()
  await listening?.close()
})

let nextAddress = 1
/** A fresh client address, so tests do not share rate-limit buckets. */
const fresh = () => `198.51.100.${nextAddress++}`

type Answer = { status: number; headers: Record<string, unknown>; body: string }
const fromInject = (r: LightMyRequestResponse): Answer => ({ status: r.statusCode, headers: r.headers, body: r.body })
const fromRaw = (r: RawAnswer): Answer => ({ status: r.status, headers: r.headers, body: r.body })

/** An error answer in the API format, with every security header and no-store; its code. */
function expectApiError(a: Answer, status: number, code: string): { code: string; message: string } {
  expect({ status: a.status, type: String(a.headers['content-type']).split(';')[0] }).toEqual({ status, type: 'application/json' })
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(a.headers[k], k).toBe(v)
  expect(a.headers['cache-control']).toBe('no-store')
  const body = JSON.parse(a.body) as { error: { code: string; message: string } }
  expect(Object.keys(body)).toEqual(['error'])
  expect(body.error.code).toBe(code)
  expect(typeof body.error.message).toBe('string')
  expect(body.error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS)
  return body.error
}

describe('errors of the framework itself, in the API format', () => {
  it('a 5,000-character session id: 414 uri_too_long, the URL not echoed', async () => {
    const id = 'A'.repeat(5000)
    const r = await guarded.inject({ method: 'POST', url: paths.classify(id), remoteAddress: fresh(), headers: { 'content-type': BINARY }, payload: Buffer.alloc(10) })
    const e = expectApiError(fromInject(r), 414, 'uri_too_long')
    expect(e.message).not.toContain('AAAA')
    expect(r.body).not.toContain('AAAA')
  })

  it('%00%ff in the id: 400 bad_url, the URL not echoed', async () => {
    const r = await guarded.inject({ method: 'DELETE', url: `${paths.sessions}/%00%ff`, remoteAddress: fresh() })
    const e = expectApiError(fromInject(r), 400, 'bad_url')
    expect(r.body).not.toContain('%ff')
    expect(e.message).not.toContain('%00')
  })

  it('the same over a real socket, which is closed when a body was declared', async () => {
    const r = await rawRequest(port, [`POST ${paths.classify('B'.repeat(5000))} HTTP/1.1`, 'Host: x', `Content-Type: ${BINARY}`, `Content-Length: ${BIG}`], Buffer.alloc(4096))
    expectApiError(fromRaw(r), 414, 'uri_too_long')
    expect(r.closedByServer).toBe(true)
    const bad = await rawRequest(port, [`GET ${paths.sessions}/%00%ff HTTP/1.1`, 'Host: x', 'Connection: close'])
    expectApiError(fromRaw(bad), 400, 'bad_url')
  })

  it("headers over Node's limit: 431 headers_too_large from the HTTP parser", async () => {
    const r = await rawRequest(port, [`GET ${paths.models} HTTP/1.1`, 'Host: x', `X-Filler: ${'x'.repeat(20_000)}`])
    expectApiError(fromRaw(r), 431, 'headers_too_large')
    expect(r.closedByServer).toBe(true)
  })

  it('an unknown route: 404 not_found, the path not echoed', async () => {
    const r = await guarded.inject({ method: 'GET', url: '/api/v1/no-such-thing-here', remoteAddress: fresh() })
    const e = expectApiError(fromInject(r), 404, 'not_found')
    expect(e.message).not.toContain('no-such-thing')
  })

  it('413 and 415 on the binary routes', async () => {
    const [name, model] = [...guarded.blindfold.models][0]
    const big = await guarded.inject({
      method: 'POST',
      url: `${paths.sessions}?model=${name}`,
      remoteAddress: fresh(),
      headers: { 'content-type': BINARY },
      payload: Buffer.alloc(model.limits.keys + 1),
    })
    expectApiError(fromInject(big), 413, 'body_too_large')
    // the session is looked up before its model's limit is applied: an unknown one is 404 whatever the size
    const noSession = await guarded.inject({
      method: 'POST',
      url: paths.classify('x'),
      remoteAddress: fresh(),
      headers: { 'content-type': BINARY },
      payload: Buffer.alloc(500 * 1024),
    })
    expectApiError(fromInject(noSession), 404, 'unknown_session')
    const json = await guarded.inject({ method: 'POST', url: `${paths.sessions}?model=x`, remoteAddress: fresh(), headers: { 'content-type': 'application/json' }, payload: '{}' })
    expectApiError(fromInject(json), 415, 'unsupported_media_type')
    const none = await guarded.inject({ method: 'POST', url: paths.classify('x'), remoteAddress: fresh(), payload: Buffer.alloc(10) })
    expectApiError(fromInject(none), 415, 'unsupported_media_type')
  })
})

describe('bodies where none belong are refused from the headers, never read', () => {
  const start = Buffer.alloc(64 * 1024, 0x7b)
  const bigPost = (lines: string[]) => rawRequest(port, lines, start)

  it('nine concurrent large posts (unmatched JSON, DELETE, text to the key route, keys for an unknown model, oversize keys) are answered and their connections closed, and /healthz answers meanwhile', async () => {
    const posts = [
      ...Array.from({ length: 4 }, () => bigPost(['POST /api/v1/nowhere HTTP/1.1', 'Host: x', 'Content-Type: application/json', `Content-Length: ${BIG}`])),
      bigPost([`DELETE ${paths.session('abc')} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', `Content-Length: ${BIG}`]),
      // chunked: no length to refuse on, the headers alone must do (one well-formed chunk of many)
      rawRequest(port, [`DELETE ${paths.session('abc')} HTTP/1.1`, 'Host: x', `Content-Type: ${BINARY}`, 'Transfer-Encoding: chunked'], Buffer.concat([Buffer.from(`${start.byteLength.toString(16)}\r\n`), start, Buffer.from('\r\n')])),
      bigPost([`POST ${paths.sessions}?model=x HTTP/1.1`, 'Host: x', 'Content-Type: text/plain', `Content-Length: ${BIG}`]),
      bigPost([`POST ${paths.sessions}?model=x HTTP/1.1`, 'Host: x', `Content-Type: ${BINARY}`, `Content-Length: ${17 * 1024 * 1024}`]),
      bigPost([`POST ${paths.sessions}?model=${[...listening.blindfold.models.keys()][0]} HTTP/1.1`, 'Host: x', `Content-Type: ${BINARY}`, `Content-Length: ${64 * 1024 * 1024}`]),
    ]
    const health = await fetch(`http://127.0.0.1:${port}${paths.health}`)
    expect(health.status).toBe(200)
    expect(health.headers.get('cache-control')).toBe('no-store')
    const answers = await Promise.all(posts)
    const expected: Array<[number, string]> = [
      [404, 'not_found'],
      [404, 'not_found'],
      [404, 'not_found'],
      [404, 'not_found'],
      [413, 'body_too_large'],
      [413, 'body_too_large'],
      [415, 'unsupported_media_type'],
      [404, 'unknown_model'],
      [413, 'body_too_large'],
    ]
    answers.forEach((a, i) => {
      expectApiError(fromRaw(a), ...expected[i])
      expect(a.headers.connection, `answer ${i}`).toBe('close')
      expect(a.closedByServer, `answer ${i}`).toBe(true)
    })
    expect((await fetch(`http://127.0.0.1:${port}${paths.models}`)).status).toBe(200)
  })

  it('a GET with a body is refused too (413), on a route and off one (404)', async () => {
    const onRoute = await guarded.inject({ method: 'GET', url: paths.models, remoteAddress: fresh(), headers: { 'content-type': BINARY }, payload: Buffer.alloc(100) })
    expectApiError(fromInject(onRoute), 413, 'body_too_large')
    const offRoute = await guarded.inject({ method: 'GET', url: '/x', remoteAddress: fresh(), headers: { 'content-type': BINARY }, payload: Buffer.alloc(100) })
    expectApiError(fromInject(offRoute), 404, 'not_found')
  })
})

describe('cost-weighted rate limit', () => {
  it('a few key uploads exhaust a budget that many GETs do not; 429 is in the API format with Retry-After', async () => {
    const reader = fresh()
    for (let i = 0; i < 90; i++) expect((await guarded.inject({ method: 'GET', url: paths.models, remoteAddress: reader })).statusCode).toBe(200)

    const uploader = fresh()
    const upload = () =>
      guarded.inject({ method: 'POST', url: `${paths.sessions}?model=x`, remoteAddress: uploader, headers: { 'content-type': BINARY }, payload: Buffer.from('not keys') })
    // charged on arrival, whatever the answer (here: no such model): 50 points each
    expect((await upload()).statusCode).toBe(404)
    expect((await upload()).statusCode).toBe(404)
    const limited = await upload()
    const e = expectApiError(fromInject(limited), 429, 'rate_limited')
    expect(e.message).toContain('100 points per 60 s')
    expect(Number(limited.headers['retry-after'])).toBe(30)

    // the whole bucket is empty: GETs and unknown routes (the not-found handler) are limited too
    expectApiError(fromInject(await guarded.inject({ method: 'GET', url: paths.models, remoteAddress: uploader })), 429, 'rate_limited')
    expectApiError(fromInject(await guarded.inject({ method: 'GET', url: '/api/v1/unknown', remoteAddress: uploader })), 429, 'rate_limited')
    expectApiError(fromInject(await guarded.inject({ method: 'POST', url: '/api/v1/unknown', remoteAddress: uploader })), 429, 'rate_limited')
    // health probes are counted too (1 point each): an empty bucket refuses them, another client's answers
    expectApiError(fromInject(await guarded.inject({ method: 'GET', url: paths.health, remoteAddress: uploader })), 429, 'rate_limited')
    expectApiError(fromInject(await guarded.inject({ method: 'GET', url: paths.ready, remoteAddress: uploader })), 429, 'rate_limited')
    expect((await guarded.inject({ method: 'GET', url: paths.health, remoteAddress: fresh() })).statusCode).toBe(200)
    expect((await guarded.inject({ method: 'GET', url: paths.ready, remoteAddress: fresh() })).statusCode).toBe(200)
    // the reader still has 10 points
    expect((await guarded.inject({ method: 'GET', url: paths.models, remoteAddress: reader })).statusCode).toBe(200)

    clock += 30_000
    expect((await upload()).statusCode).toBe(404)
  })

  it('the not-found handler alone exhausts a bucket', async () => {
    const prober = fresh()
    const codes = []
    for (let i = 0; i < 101; i++) codes.push((await guarded.inject({ method: 'GET', url: `/probe/${i}`, remoteAddress: prober })).statusCode)
    expect(codes.slice(0, 100).every((c) => c === 404)).toBe(true)
    expect(codes[100]).toBe(429)
  })

  it('behind the trusted proxy the client is the address it forwarded, which a client cannot forge', async () => {
    const upload = (remoteAddress: string, forwardedFor: string) =>
      guarded.inject({ method: 'POST', url: `${paths.sessions}?model=x`, remoteAddress, headers: { 'content-type': BINARY, 'x-forwarded-for': forwardedFor }, payload: Buffer.from('x') })
    expect((await upload('127.0.0.1', '203.0.113.9')).statusCode).toBe(404)
    // the client prepends a fake address: the proxy appended the real one, which counts
    expect((await upload('127.0.0.1', '192.0.2.77, 203.0.113.9')).statusCode).toBe(404)
    expect((await upload('127.0.0.1', '203.0.113.9')).statusCode).toBe(429)
    expect((await upload('127.0.0.1', '203.0.113.10')).statusCode).toBe(404)
    // a direct client's X-Forwarded-For is ignored: it cannot spend another client's budget
    const direct = fresh()
    expect((await upload(direct, '203.0.113.10')).statusCode).toBe(404)
    expect((await upload(direct, '203.0.113.10')).statusCode).toBe(404)
    expect((await upload('127.0.0.1', '203.0.113.10')).statusCode).toBe(404)
  })

  it('one IPv6 /64 is one client', async () => {
    const codes = []
    for (let i = 0; i < 3; i++) {
      codes.push((await guarded.inject({ method: 'POST', url: `${paths.sessions}?model=x`, remoteAddress: `2001:db8:1:2::${i + 1}`, headers: { 'content-type': BINARY }, payload: Buffer.from('x') })).statusCode)
    }
    expect(codes).toEqual([404, 404, 429])
  })
})

describe('readiness and caching', () => {
  it('/readyz says ready, per model, and nothing else', async () => {
    const r = await guarded.inject({ method: 'GET', url: paths.ready, remoteAddress: fresh() })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ ready: true, models: [...guarded.blindfold.models.keys()].map((name) => ({ name, ready: true })) })
    expect(r.headers['cache-control']).toBe('no-store')
  })

  it('API and health answers are no-store', async () => {
    for (const url of [paths.models, paths.health, '/api/v1/openapi.json']) {
      const r = await guarded.inject({ method: 'GET', url, remoteAddress: fresh() })
      expect(r.statusCode, url).toBe(200)
      expect(r.headers['cache-control'], url).toBe('no-store')
    }
  })
})
