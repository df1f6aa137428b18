/**
 * The HE worker's comlink surface is its API and nothing else: a page script sending raw comlink
 * messages along `__proto__`, `constructor` or a method's own properties reads and sets nothing
 * inside the worker, while calls of the API's methods work as before. A real worker thread runs
 * the real API object exposed as he.worker.ts exposes it; the same messages against plain
 * comlink expose() show that they would reach Object.prototype.
 */
import { Worker } from 'node:worker_threads'
import { wrap } from 'comlink'
import nodeEndpoint from 'comlink/dist/umd/node-adapter.js'
import { afterAll, describe, expect, it } from 'vitest'
import type { HeWorkerApi } from '../src/api/he-worker-types'

const workers: Worker[] = []
afterAll(async () => {
  await Promise.all(workers.map((w) => w.terminate()))
})

type Answer = { type: string; name?: string; value: unknown }

function start(guarded: boolean) {
  const worker = new Worker(new URL('./test-support/exposed-he-worker.mjs', import.meta.url), { workerData: { guarded } })
  workers.push(worker)
  let next = 0
  /** One raw comlink message and its answer. */
  const send = (message: Record<string, unknown>) =>
    new Promise<Answer>((resolve) => {
      const id = `raw-${next++}`
      const onMessage = (m: Answer & { id?: string }) => {
        if (m?.id !== id) return
        worker.off('message', onMessage)
        resolve(m)
      }
      worker.on('message', onMessage)
      worker.postMessage({ ...message, id })
    })
  const probe = () =>
    new Promise<{ objectPolluted: unknown; functionPolluted: unknown; apiKeys: string[]; cancelIsOriginal: boolean }>((resolve) => {
      const onMessage = (m: { probeAnswer?: never }) => {
        if (!m?.probeAnswer) return
        worker.off('message', onMessage)
        resolve(m.probeAnswer)
      }
      worker.on('message', onMessage)
      worker.postMessage({ probe: true })
    })
  return { worker, send, probe }
}

const raw = (value: unknown) => ({ type: 'RAW', value })
const refusedAnswer = (a: Answer) => {
  expect(a.type).toBe('HANDLER')
  expect(a.name).toBe('throw')
  expect(a.value).toMatchObject({ isError: true, value: { message: expect.stringContaining('refused') } })
}

const API_METHODS = ['cancel', 'classify', 'ensureSession', 'listen', 'models', 'newKeys']

describe('the HE worker exposes its API and nothing else', () => {
  it('plain comlink expose() lets a SET along __proto__ reach Object.prototype (the control)', async () => {
    const plain = start(false)
    const a = await plain.send({ type: 'SET', path: ['__proto__', 'polluted'], value: raw('yes') })
    expect(a).toMatchObject({ type: 'RAW', value: true })
    expect((await plain.probe()).objectPolluted).toBe('yes')
  })

  it('every path off the surface is refused, for every kind of message, and nothing inside changes', async () => {
    const guarded = start(true)
    const attempts: Array<Record<string, unknown>> = [
      { type: 'SET', path: ['__proto__', 'polluted'], value: raw('yes') },
      { type: 'SET', path: ['constructor', 'prototype', 'polluted'], value: raw('yes') },
      { type: 'SET', path: ['models', '__proto__', 'polluted'], value: raw('yes') },
      { type: 'SET', path: ['cancel'], value: raw('replaced') },
      { type: 'SET', path: ['polluted'], value: raw('yes') },
      { type: 'GET', path: ['__proto__'] },
      { type: 'GET', path: ['constructor'] },
      { type: 'GET', path: ['models', 'prototype'] },
      { type: 'GET', path: ['models'] },
      { type: 'GET', path: [] },
      { type: 'APPLY', path: ['constructor', 'constructor'], argumentList: [raw('return 1')] },
      { type: 'APPLY', path: ['models', 'constructor'], argumentList: [raw('return 1')] },
      { type: 'APPLY', path: ['__proto__', 'hasOwnProperty'], argumentList: [raw('x')] },
      { type: 'APPLY', path: ['toString'], argumentList: [] },
      { type: 'APPLY', path: [], argumentList: [] },
      { type: 'CONSTRUCT', path: ['models'], argumentList: [] },
      { type: 'ENDPOINT' },
      { type: 'RELEASE', path: ['cancel'] },
    ]
    for (const attempt of attempts) refusedAnswer(await guarded.send(attempt))
    expect(await guarded.probe()).toEqual({ objectPolluted: null, functionPolluted: null, apiKeys: API_METHODS, cancelIsOriginal: true })
  })

  it("the API's methods still answer, through raw messages and through wrap()", async () => {
    const guarded = start(true)
    // cancelling a classification that is not running is a no-op: undefined comes back
    expect(await guarded.send({ type: 'APPLY', path: ['cancel'], argumentList: [raw('no-such-request')] })).toMatchObject({ type: 'RAW', value: undefined })
    const api = wrap<HeWorkerApi>(nodeEndpoint(guarded.worker))
    await expect(api.cancel('no-such-request')).resolves.toBeUndefined()
    // a property read through the proxy is a GET: refused as well
    await expect((api as unknown as { models: { length: Promise<number> } }).models.length).rejects.toThrow(/refused/)
  })
})
