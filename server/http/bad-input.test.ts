/**
 * Untrusted clients: every malformed or hostile body gets its own 4xx code
 * before or from SEAL, never a 5xx, and the server keeps classifying after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { KeyOwner } from '../../src/he/key-owner'
import { ContainerKind, pack, unpack } from '../../src/he/wire'
import { BINARY, paths } from '../../src/api/wire'
import type { ModelFiles } from '../../src/datasets/model-files'
import { Forger, editSection, request, withSealSize } from '../test-support/forge'
import { classifyDigit, digits, errorCode, newSession, postClassify, postKeys, publicModelOf, startApp, poolOf } from '../test-support/harness'

const TTL_S = 600
let clock = Date.now()
let app: FastifyInstance
let model: ModelFiles
let owner: KeyOwner
let session: string
let good: Forger
let steps: number[]
let validRequest: Uint8Array

beforeAll(async () => {
  ;({ app, model } = await startApp({ poolSize: 1, sessionTtlSeconds: TTL_S, now: () => clock }))
  owner = await KeyOwner.create(await publicModelOf(app))
  session = await newSession(app, owner)
  steps = model.manifest.plan.rotationSteps
  good = await Forger.create({ scheme: 'ckks', n: model.manifest.he.polyModulusDegree, bits: model.manifest.he.coeffModulusBits })
  validRequest = owner.encrypt(digits(model, 0, 1)[0].x)
})
afterAll(async () => {
  good?.dispose()
  owner?.dispose()
  await app?.close()
})

async function expectClassify(body: Uint8Array, status: number, code: string, contentType?: string) {
  const r = await postClassify(app, session, body, contentType)
  expect({ status: r.statusCode, code: errorCode(r) }).toEqual({ status, code })
}
async function expectKeys(body: Uint8Array, status: number, code: string) {
  const r = await postKeys(app, body, model.manifest.name)
  expect({ status: r.statusCode, code: errorCode(r) }).toEqual({ status, code })
}
// the forged requests below hold one ciphertext: the MNIST plan's 25 x 144 patch values fit one
const inputCts = () => app.blindfold.models.get(model.manifest.name)!.plan.input.ciphertexts

describe('bad ciphertext requests', () => {
  it('empty body -> empty_body', () => expectClassify(new Uint8Array(0), 400, 'empty_body'))

  it('random bytes -> bad_container', () => expectClassify(Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919) & 255), 400, 'bad_container'))

  it('truncated body -> bad_container', () => expectClassify(validRequest.subarray(0, validRequest.byteLength - 1000), 400, 'bad_container'))

  it('wrong container version -> unsupported_version', () => {
    const body = validRequest.slice()
    body[4] = 99
    return expectClassify(body, 400, 'unsupported_version')
  })

  it('wrong container kind (a response container) -> wrong_kind', () => {
    const body = validRequest.slice()
    body[5] = ContainerKind.response
    return expectClassify(body, 400, 'wrong_kind')
  })

  it('wrong number of ciphertexts -> wrong_ciphertext_count', () => {
    const cts = unpack(validRequest, ContainerKind.request, inputCts())
    return expectClassify(request(...cts, cts[0]), 400, 'wrong_ciphertext_count')
  })

  // the page sends packed sections; a SEAL object (seeded, zstd) is accepted too, and checked as one
  const sealRequest = () => request(...Array.from({ length: inputCts() }, () => good.ciphertext({ scaleBits: model.manifest.he.scaleBits })))

  it('a seeded zstd SEAL ciphertext -> 200', async () => {
    const r = await postClassify(app, session, sealRequest())
    expect(r.statusCode).toBe(200)
  })

  it('a packed coefficient not below its prime -> bad_packing', () =>
    expectClassify(editSection(validRequest, ContainerKind.request, inputCts(), 0, (s) => (s.fill(0xff, 72, 80), s)), 400, 'bad_packing'))

  it('a packed ciphertext cut short -> wrong_object_size', () =>
    expectClassify(editSection(validRequest, ContainerKind.request, inputCts(), 0, (s) => s.slice(0, s.byteLength - 4)), 400, 'wrong_object_size'))

  it('SEAL header size disagreeing with the section length -> bad_seal_header', () =>
    expectClassify(editSection(sealRequest(), ContainerKind.request, inputCts(), 0, (s) => withSealSize(s, s.byteLength + 8)), 400, 'bad_seal_header'))

  it('bad SEAL magic -> bad_seal_header', () =>
    expectClassify(editSection(sealRequest(), ContainerKind.request, inputCts(), 0, (s) => ((s[0] ^= 0xff), s)), 400, 'bad_seal_header'))

  it('zlib-compressed section -> unsupported_compression', () =>
    expectClassify(editSection(sealRequest(), ContainerKind.request, inputCts(), 0, (s) => ((s[5] = 1), s)), 400, 'unsupported_compression'))

  it('truncated ciphertext with a consistent header -> bad_compression (its zstd frame is cut)', () =>
    expectClassify(
      editSection(sealRequest(), ContainerKind.request, inputCts(), 0, (s) => withSealSize(s.subarray(0, s.byteLength - 4096), s.byteLength - 4096)),
      400,
      'bad_compression',
    ))

  it('ciphertext for N=4096 -> wrong_object_size (not the size of this model\'s ciphertexts)', async () => {
    const f = await Forger.create({ scheme: 'ckks', n: 4096, bits: [40, 30, 39] })
    try {
      await expectClassify(request(f.ciphertext()), 400, 'wrong_object_size')
    } finally {
      f.dispose()
    }
  })

  it('BFV ciphertext -> seal_rejected', async () => {
    const f = await Forger.create({ scheme: 'bfv', n: 8192, bits: model.manifest.he.coeffModulusBits })
    try {
      await expectClassify(request(f.ciphertext()), 400, 'seal_rejected')
    } finally {
      f.dispose()
    }
  })

  it('mod-switched ciphertext -> wrong_object_size (one prime fewer)', () => expectClassify(request(good.ciphertext({ modSwitches: 1, scaleBits: model.manifest.he.scaleBits })), 400, 'wrong_object_size'))

  // three bits off the model's own scale, whichever model the suite serves first
  it('wrong scale -> wrong_scale', () => expectClassify(request(good.ciphertext({ scaleBits: model.manifest.he.scaleBits - 3 })), 400, 'wrong_scale'))

  it('transparent ciphertext -> transparent_ciphertext', () => expectClassify(request(good.ciphertext({ transparent: true, scaleBits: model.manifest.he.scaleBits })), 400, 'transparent_ciphertext'))

  it('oversized body -> 413 body_too_large', () => expectClassify(new Uint8Array(600 * 1024), 413, 'body_too_large'))

  it('wrong content type -> 415 unsupported_media_type', () => expectClassify(validRequest, 415, 'unsupported_media_type', 'application/json'))

  it('unknown session -> 404 unknown_session', async () => {
    const r = await postClassify(app, 'no-such-session', validRequest)
    expect({ status: r.statusCode, code: errorCode(r) }).toEqual({ status: 404, code: 'unknown_session' })
  })

  it('expired session -> 404 unknown_session', async () => {
    const short = await newSession(app, owner)
    clock += TTL_S * 1000 + 1
    const r = await postClassify(app, short, validRequest)
    expect({ status: r.statusCode, code: errorCode(r) }).toEqual({ status: 404, code: 'unknown_session' })
    session = await newSession(app, owner) // the suite's own session expired with it
  })
})

describe('bad evaluation keys', () => {
  it('unknown model -> 404 unknown_model', async () => {
    const r = await postKeys(app, owner.evaluationKeys, 'no-such-model')
    expect({ status: r.statusCode, code: errorCode(r) }).toEqual({ status: 404, code: 'unknown_model' })
  })

  it('a request container as keys -> wrong_kind', () => expectKeys(validRequest, 400, 'wrong_kind'))

  // key sets for other steps or other chains differ in size from the plan's: refused before SEAL
  it('keys missing a rotation step -> wrong_object_size', () => expectKeys(good.evaluationKeys(steps.slice(1)), 400, 'wrong_object_size'))

  it('keys with an extra rotation step -> wrong_object_size', () => {
    const extra = [1, 2, 3, 5, 7].find((s) => !steps.includes(s))!
    return expectKeys(good.evaluationKeys([...steps, extra]), 400, 'wrong_object_size')
  })

  it('Galois keys where the relinearisation keys belong -> wrong_object_size', () => {
    const [, galois] = unpack(good.evaluationKeys(steps), ContainerKind.evaluationKeys, 2)
    return expectKeys(pack(ContainerKind.evaluationKeys, [galois, galois]), 400, 'wrong_object_size')
  })

  it('packed Galois keys where the relinearisation keys belong -> wrong_kind', () => {
    const [, galois] = unpack(owner.evaluationKeys, ContainerKind.evaluationKeys, 2)
    return expectKeys(pack(ContainerKind.evaluationKeys, [galois, galois]), 400, 'wrong_kind')
  })

  // a packed key set (src/he/packed-keys.ts): header 16 bytes, the filled table indices, then per key its 64-byte seed and coefficients
  const packedGalois = (edit: (section: Uint8Array, view: DataView, firstKey: number) => Uint8Array) =>
    editSection(owner.evaluationKeys, ContainerKind.evaluationKeys, 2, 1, (s) => {
      const view = new DataView(s.buffer, s.byteOffset, s.byteLength)
      return edit(s, view, 16 + 4 * view.getUint32(12, true))
    })

  it('a packed key coefficient not below its prime -> bad_packing', () =>
    expectKeys(packedGalois((s, _, firstKey) => (s.fill(0xff, firstKey + 64, firstKey + 72), s)), 400, 'bad_packing'))

  it('a packed key set cut short -> wrong_object_size', () => expectKeys(packedGalois((s) => s.slice(0, s.byteLength - 1)), 400, 'wrong_object_size'))

  it('a packed key set naming another rotation -> unexpected_rotation_step', () =>
    expectKeys(packedGalois((s, view) => (view.setUint32(16, view.getUint32(16, true) + 1, true), s)), 400, 'unexpected_rotation_step'))

  it('keys for a shorter (secure) chain -> wrong_object_size', async () => {
    const f = await Forger.create({ scheme: 'ckks', n: 8192, bits: [60, 40, 40, 60] })
    try {
      await expectKeys(f.evaluationKeys(steps), 400, 'wrong_object_size')
    } finally {
      f.dispose()
    }
  })

  it('keys made under insecure parameters -> seal_rejected', async () => {
    // as many primes as the model's chain (so the sizes match), each 60 bits: past tc128's 218 bits at N = 8192
    const f = await Forger.create({ scheme: 'ckks', n: 8192, bits: model.manifest.he.coeffModulusBits.map(() => 60), secure: false })
    try {
      await expectKeys(f.evaluationKeys(steps), 400, 'seal_rejected')
    } finally {
      f.dispose()
    }
  })

  it('a valid ciphertext sent as evaluation keys -> wrong_object_size', () => {
    const ct = good.ciphertext({ scaleBits: model.manifest.he.scaleBits })
    return expectKeys(pack(ContainerKind.evaluationKeys, [ct, ct]), 400, 'wrong_object_size')
  })

  it('keys section with a lying SEAL size -> bad_seal_header', () =>
    expectKeys(editSection(good.evaluationKeys(steps), ContainerKind.evaluationKeys, 2, 1, (s) => withSealSize(s, 1 << 30)), 400, 'bad_seal_header'))

  it('oversized key upload -> 413 body_too_large', () => expectKeys(new Uint8Array(17 * 1024 * 1024), 413, 'body_too_large'))
})

describe('hostile HTTP around the routes', () => {
  const id = () => session
  const expectError = (r: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, code: string) => {
    expect({ status: r.statusCode, code: (r.json() as { error: { code: string } }).error.code }).toEqual({ status, code })
    expect(r.headers['x-content-type-options']).toBe('nosniff')
    expect(r.headers['cache-control']).toBe('no-store')
  }

  it('a 5,000-character session id -> 414 uri_too_long', async () =>
    expectError(await app.inject({ method: 'POST', url: paths.classify('x'.repeat(5000)), headers: { 'content-type': BINARY }, payload: Buffer.from(validRequest) }), 414, 'uri_too_long'))

  it('invalid percent-encoding in the id -> 400 bad_url', async () =>
    expectError(await app.inject({ method: 'POST', url: `${paths.sessions}/%00%ff/classify`, headers: { 'content-type': BINARY }, payload: Buffer.from(validRequest) }), 400, 'bad_url'))

  it('a JSON body to an unknown route -> 404 not_found', async () =>
    expectError(await app.inject({ method: 'POST', url: '/api/v1/sessions/x/y/z', headers: { 'content-type': 'application/json' }, payload: '{"a":1}' }), 404, 'not_found'))

  it('a body on DELETE -> 413 body_too_large, and the session survives', async () =>
    expectError(await app.inject({ method: 'DELETE', url: paths.session(id()), headers: { 'content-type': BINARY }, payload: Buffer.alloc(10) }), 413, 'body_too_large'))

  it('text/plain evaluation keys -> 415 unsupported_media_type', async () =>
    expectError(await postKeys(app, owner.evaluationKeys, model.manifest.name, 'text/plain'), 415, 'unsupported_media_type'))

  it('a request with a lying Content-Length -> 400 bad_request', async () =>
    expectError(
      await app.inject({ method: 'POST', url: paths.classify(id()), headers: { 'content-type': BINARY, 'content-length': '100' }, payload: Buffer.alloc(50) }),
      400,
      'bad_request',
    ))
})

describe('after the bad inputs', () => {
  it('still classifies correctly', async () => {
    for (const d of digits(model, 10, 2)) {
      const r = await classifyDigit(app, owner, session, d.x)
      expect(r.status).toBe(200)
      expect(r.predicted).toBe(d.expected)
    }
    expect(poolOf(app).stats.crashes).toBe(0)
  })
})
