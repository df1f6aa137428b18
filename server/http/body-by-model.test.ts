/**
 * A key upload or classification is held to the limit of the model it names (by name, or
 * through its session) before a byte of its body is read: an unknown model or session and a
 * Content-Length above that model's limit are answered from the headers alone, and a chunked
 * body is cut at that model's limit while it streams, not at the largest model's. Real sockets:
 * the answers below arrive while the body has not been sent (or not finished).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { BINARY, paths, type ModelsResponse } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { rawRequest, type RawAnswer } from '../test-support/raw-http'
import { newSession, startApp } from '../test-support/harness'

let app: FastifyInstance
let port: number
// the smallest and the largest limit of the models served (configured floors below them all)
let small: { name: string; keys: number; request: number }
let largest: { keys: number; request: number }

beforeAll(async () => {
  ;({ app } = await startApp({ maxKeysBytes: 1024, maxRequestBytes: 1024 }))
  const limits = [...app.blindfold.models].map(([name, m]) => ({ name, ...m.limits }))
  small = limits.reduce((a, b) => (b.keys < a.keys ? b : a))
  largest = { keys: Math.max(...limits.map((l) => l.keys)), request: Math.max(...limits.map((l) => l.request)) }
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  port = Number(new URL(address).port)
})
afterAll(async () => {
  await app?.close()
})

const head = (line: string, more: string[]) => [line, 'Host: x', `Content-Type: ${BINARY}`, ...more]
const errorOf = (a: RawAnswer) => (JSON.parse(a.body) as { error: { code: string } }).error.code

/** The answer came, in the API format, and the server closed the connection it left unread. */
function refused(a: RawAnswer, status: number, code: string): void {
  expect({ status: a.status, code: errorOf(a) }).toEqual({ status, code })
  expect(a.headers.connection).toBe('close')
  expect(a.closedByServer).toBe(true)
}

/** `total` bytes of chunked body in 64 KB chunks, without the terminating chunk: the body never ends. */
function unfinishedChunks(total: number): Buffer {
  const parts: Buffer[] = []
  for (let sent = 0; sent < total; sent += 64 * 1024) {
    const chunk = Buffer.alloc(Math.min(64 * 1024, total - sent), 0x5a)
    parts.push(Buffer.from(`${chunk.byteLength.toString(16)}\r\n`), chunk, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

describe('bodies refused from their headers, by the model they name', () => {
  it('the models served have different limits (else the cases below could not tell them apart)', () => {
    expect(small.keys).toBeLessThan(largest.keys)
    expect(small.request).toBeLessThan(largest.request)
  })

  it('an unknown model: 404 unknown_model from the headers, the body never sent', async () => {
    const a = await rawRequest(port, head(`POST ${paths.sessions}?model=no-such-model HTTP/1.1`, [`Content-Length: ${largest.keys}`]))
    refused(a, 404, 'unknown_model')
  })

  it('no model named: 400 bad_request from the headers', async () => {
    const a = await rawRequest(port, head(`POST ${paths.sessions} HTTP/1.1`, [`Content-Length: ${small.keys}`]))
    refused(a, 400, 'bad_request')
  })

  it("keys declared one byte over the model's limit (below the largest model's): 413, the body never sent", async () => {
    const a = await rawRequest(port, head(`POST ${paths.sessions}?model=${small.name} HTTP/1.1`, [`Content-Length: ${small.keys + 1}`]))
    refused(a, 413, 'body_too_large')
  })

  it("chunked keys are cut at the model's limit while they stream, the body left unfinished", async () => {
    const a = await rawRequest(
      port,
      head(`POST ${paths.sessions}?model=${small.name} HTTP/1.1`, ['Transfer-Encoding: chunked']),
      unfinishedChunks(small.keys + 128 * 1024),
    )
    refused(a, 413, 'body_too_large')
  })

  it('a classification for an unknown session: 404 unknown_session from the headers', async () => {
    const a = await rawRequest(port, head(`POST ${paths.classify('no-such-session')} HTTP/1.1`, [`Content-Length: ${largest.request}`]))
    refused(a, 404, 'unknown_session')
  })

  it("a classification declared over its session's model's limit: 413; chunked, cut at that limit", async () => {
    const models = (await app.inject({ method: 'GET', url: paths.models })).json() as ModelsResponse
    const model = models.models.find((m) => m.name === small.name)!
    const owner = await KeyOwner.create(model)
    try {
      const session = await newSession(app, owner)
      const declared = await rawRequest(port, head(`POST ${paths.classify(session)} HTTP/1.1`, [`Content-Length: ${small.request + 1}`]))
      refused(declared, 413, 'body_too_large')
      const chunked = await rawRequest(port, head(`POST ${paths.classify(session)} HTTP/1.1`, ['Transfer-Encoding: chunked']), unfinishedChunks(small.request + 64 * 1024))
      refused(chunked, 413, 'body_too_large')
      // the session is untouched by the refusals: a real image still classifies
      const ok = await app.inject({ method: 'POST', url: paths.classify(session), headers: { 'content-type': BINARY }, payload: Buffer.from(owner.encrypt(new Float64Array(model.input.height * model.input.width * model.input.channels))) })
      expect(ok.statusCode).toBe(200)
    } finally {
      owner.dispose()
    }
  })
})
