// Small helpers shared by the server tests: build an app, speak the API through inject().
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp, type AppOptions } from '../app'
import { loadMnistSplit as loadMnist } from '../../src/datasets'
import { BINARY, paths, type ModelsResponse, type SessionCreated } from '../../src/api/wire'
import { KeyOwner } from '../../src/he/key-owner'
import { argmax, forward, normalise } from '../../src/model/forward'
import type { ModelFiles } from '../../src/datasets/model-files'
import { WorkerPool } from '../pool/pool'
import { testModels } from './models'

export async function startApp(options: Partial<AppOptions> = {}): Promise<{ app: FastifyInstance; model: ModelFiles }> {
  const models = options.models ?? (await testModels())
  const app = await buildApp({ poolSize: 1, rateLimitMax: 0, ...options, models })
  await app.blindfold.evaluation.ready
  return { app, model: [...models.values()][0] }
}

/** The in-process pool of an app built in embedded mode (no REDIS_URL), for tests that watch its workers. */
export function poolOf(app: FastifyInstance): WorkerPool {
  const evaluation = app.blindfold.evaluation
  if (!(evaluation instanceof WorkerPool)) throw new Error('this app runs in distributed mode: it has no in-process pool')
  return evaluation
}

export async function publicModelOf(app: FastifyInstance) {
  const r = await app.inject({ method: 'GET', url: paths.models })
  return (r.json() as ModelsResponse).models[0]
}

export function postKeys(app: FastifyInstance, keys: Uint8Array, model: string, contentType = BINARY) {
  return app.inject({
    method: 'POST',
    url: `${paths.sessions}?model=${encodeURIComponent(model)}`,
    headers: { 'content-type': contentType },
    payload: Buffer.from(keys.buffer, keys.byteOffset, keys.byteLength),
  })
}

export function postClassify(app: FastifyInstance, session: string, body: Uint8Array, contentType = BINARY) {
  return app.inject({
    method: 'POST',
    url: paths.classify(session),
    headers: { 'content-type': contentType },
    payload: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
  })
}

export async function newSession(app: FastifyInstance, owner: KeyOwner): Promise<string> {
  const r = await postKeys(app, owner.evaluationKeys, owner.model.name)
  if (r.statusCode !== 201) throw new Error(`session: ${r.statusCode} ${r.body}`)
  return (r.json() as SessionCreated).sessionId
}

export const errorCode = (r: LightMyRequestResponse) => (r.json() as { error: { code: string } }).error.code

/** Official MNIST test digits with the plaintext model's answer for each. */
export function digits(model: ModelFiles, from: number, count: number) {
  const mnist = loadMnist('test')
  return Array.from({ length: count }, (_, k) => {
    const i = from + k
    const x = normalise(mnist.images.subarray(i * 784, (i + 1) * 784), model.manifest)
    return { index: i, x, expected: argmax(forward(model.manifest, model.weights, x)) }
  })
}

/** Encrypts, classifies through the API, decrypts: the predicted class. */
export async function classifyDigit(app: FastifyInstance, owner: KeyOwner, session: string, x: Float64Array) {
  const r = await postClassify(app, session, owner.encrypt(x))
  if (r.statusCode !== 200) return { status: r.statusCode, code: errorCode(r), predicted: -1 }
  return { status: 200, code: undefined, predicted: argmax(owner.decrypt(new Uint8Array(r.rawPayload))), serverMs: r.headers['x-blindfold-server-ms'] }
}

/** Polls `cond` every 5 ms until it holds, or fails naming `what` (workers starting, replacements). */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
