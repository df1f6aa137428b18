/**
 * Bounded load over real HTTP on loopback: concurrent sessions, each
 * classifying several official test digits; every answer must arrive and
 * match the plaintext model. Bounded by count (sessions x images), not time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { KeyOwner } from '../src/he/key-owner'
import { BINARY, headers, paths, type SessionCreated } from '../src/api/wire'
import { argmax } from '../src/model/forward'
import type { ModelFiles } from '../src/datasets/model-files'
import { digits, publicModelOf, startApp, poolOf } from './test-support/harness'

const SESSIONS = 8
const IMAGES = 3

let app: FastifyInstance
let model: ModelFiles
let base: string

beforeAll(async () => {
  // every client here is 127.0.0.1: let it hold all the sessions (plus the graceful-close one),
  // by count and by bytes (a four-level model's keys are ~9 MB: 9 sessions pass the 64 MiB default)
  ;({ app, model } = await startApp({ poolSize: 2, queueMax: 64, sessionsPerClient: SESSIONS + 1, sessionBytesPerClient: (SESSIONS + 1) * 16 * 1024 * 1024 }))
  base = await app.listen({ port: 0, host: '127.0.0.1' })
})
afterAll(async () => {
  await app?.close()
})

async function client(k: number, owner: KeyOwner) {
  const created = await fetch(`${base}${paths.sessions}?model=${model.manifest.name}`, {
    method: 'POST',
    headers: { 'content-type': BINARY },
    body: owner.evaluationKeys,
  })
  expect(created.status).toBe(201)
  const { sessionId } = (await created.json()) as SessionCreated
  const results = []
  for (const d of digits(model, 100 + k * IMAGES, IMAGES)) {
    const r = await fetch(`${base}${paths.classify(sessionId)}`, { method: 'POST', headers: { 'content-type': BINARY }, body: owner.encrypt(d.x) })
    expect(r.status).toBe(200)
    expect(r.headers.get(headers.serverMs)).toBeTruthy()
    results.push({ index: d.index, expected: d.expected, got: argmax(owner.decrypt(new Uint8Array(await r.arrayBuffer()))) })
  }
  return results
}

describe('bounded load', () => {
  it(`${SESSIONS} concurrent sessions x ${IMAGES} images: no lost or wrong answers`, async () => {
    const pm = await publicModelOf(app)
    const owners = await Promise.all(Array.from({ length: SESSIONS }, () => KeyOwner.create(pm)))
    try {
      const all = (await Promise.all(owners.map((o, k) => client(k, o)))).flat()
      expect(all).toHaveLength(SESSIONS * IMAGES)
      expect(all.filter((r) => r.got !== r.expected)).toEqual([])
      expect(new Set(all.map((r) => r.index)).size).toBe(SESSIONS * IMAGES)
      expect(app.blindfold.sessions.size).toBe(SESSIONS)
      expect(poolOf(app).stats.crashes).toBe(0)

      // graceful close: a request in flight when close() starts still gets its answer
      const sessionId = ((await (
        await fetch(`${base}${paths.sessions}?model=${model.manifest.name}`, { method: 'POST', headers: { 'content-type': BINARY }, body: owners[0].evaluationKeys })
      ).json()) as SessionCreated).sessionId
      const [d] = digits(model, 500, 1)
      // the other worker loads the new session's keys ahead: wait for it, so the busy worker below is the classification's
      while (poolOf(app).busyWorkers().length > 0) await new Promise((r) => setTimeout(r, 5))
      const inFlight = fetch(`${base}${paths.classify(sessionId)}`, { method: 'POST', headers: { 'content-type': BINARY }, body: owners[0].encrypt(d.x) })
      while (poolOf(app).busyWorkers().length === 0) await new Promise((r) => setTimeout(r, 5))
      const closing = app.close()
      const r = await inFlight
      expect(r.status).toBe(200)
      // ends its keep-alive connection, or close() would wait out the 72 s keep-alive timeout
      expect(r.headers.get('connection')).toBe('close')
      expect(argmax(owners[0].decrypt(new Uint8Array(await r.arrayBuffer())))).toBe(d.expected)
      await closing
      expect(poolOf(app).workers()).toHaveLength(0)
    } finally {
      for (const o of owners) o.dispose()
    }
  })
})
