/**
 * The attacks of the security review, against the real app and its real
 * worker threads: zstd bombs in a keys body and in a classify body are
 * refused without inflating them (RSS stays put), a SEAL trap replaces its
 * worker, and a worker whose WASM heap passed the bound retires after its
 * answer and is replaced, with every answer still right.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { KeyOwner } from '../../src/he/key-owner'
import { ContainerKind, pack, unpack } from '../../src/he/wire'
import { ciphertextSizes } from '../../src/he/object-sizes'
import { rleFrame, sealZstdSection } from '../../src/he/test-support/zstd-frames'
import type { ModelFiles } from '../../src/datasets/model-files'
import { classifyDigit, digits, errorCode, newSession, postClassify, postKeys, publicModelOf, startApp, until, poolOf } from '../test-support/harness'
import { InjectedFaults } from '../test-support/faults'

const MB = 2 ** 20


describe('decompression bombs', () => {
  let app: FastifyInstance
  let model: ModelFiles
  let owner: KeyOwner
  let session: string
  beforeAll(async () => {
    ;({ app, model } = await startApp({ poolSize: 1 }))
    owner = await KeyOwner.create(await publicModelOf(app))
    session = await newSession(app, owner)
  })
  afterAll(async () => {
    owner?.dispose()
    await app?.close()
  })

  // ~260 KB of RLE blocks that describe ~8 GB (the reported attack's shape)
  const declaringGigabytes = () => sealZstdSection(rleFrame({ contentSize: 4 * 2 ** 30, windowLog: 17, blocks: 65_000 }))

  it('refuses a keys body whose section declares gigabytes in the main thread, RSS unchanged', async () => {
    const [, galois] = unpack(owner.evaluationKeys, ContainerKind.evaluationKeys, 2)
    // built once, before measuring: the body carries the model's real Galois keys, and fresh
    // copies of it per request would be garbage the collector may not have reclaimed when RSS is read
    const body = pack(ContainerKind.evaluationKeys, [declaringGigabytes(), galois])
    const before = process.memoryUsage().rss
    const jobs = poolOf(app).stats.keyTransfers
    for (let i = 0; i < 4; i++) {
      const r = await postKeys(app, body, model.manifest.name)
      expect(r.statusCode).toBe(400)
      expect(errorCode(r)).toBe('wrong_object_size')
    }
    // no worker saw these bodies, and nothing was inflated: one inflated section would be 4 GiB;
    // what may remain is the server's buffered copies of the body, garbage not yet collected
    expect(poolOf(app).stats.keyTransfers).toBe(jobs)
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * MB + 4 * body.byteLength)
  })

  it('refuses a classify body whose ciphertext declares gigabytes, RSS unchanged', async () => {
    const before = process.memoryUsage().rss
    for (let i = 0; i < 4; i++) {
      const r = await postClassify(app, session, pack(ContainerKind.request, [declaringGigabytes()]))
      expect(r.statusCode).toBe(400)
      expect(errorCode(r)).toBe('wrong_object_size')
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * MB)
  })

  it('stops a frame that declares the right size but inflates past it, in the worker, RSS unchanged', async () => {
    // declares exactly a fresh seeded ciphertext's size, then describes ~8 GB
    const { he } = model.manifest
    const declared = ciphertextSizes(he.polyModulusDegree, he.coeffModulusBits.length - 1).seeded - 16
    const liar = sealZstdSection(rleFrame({ contentSize: declared, windowLog: 17, blocks: 65_000 }))
    const before = process.memoryUsage().rss
    for (let i = 0; i < 4; i++) {
      const r = await postClassify(app, session, pack(ContainerKind.request, [liar]))
      expect(r.statusCode).toBe(400)
      expect(errorCode(r)).toBe('wrong_object_size')
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * MB)
    // and the same session still gets right answers
    const [d] = digits(model, 5, 1)
    expect((await classifyDigit(app, owner, session, d.x)).predicted).toBe(d.expected)
  })
})

describe('worker faults other than crashes', () => {
  let app: FastifyInstance
  let model: ModelFiles
  let owner: KeyOwner
  afterAll(async () => {
    owner?.dispose()
    await app?.close()
  })

  it('a trap inside SEAL answers 500 seal_fault and replaces the worker; the next answers are right', async () => {
    const faults = new InjectedFaults()
    ;({ app, model } = await startApp({ poolSize: 1, faults }))
    owner = await KeyOwner.create(await publicModelOf(app))
    const session = await newSession(app, owner)
    const pool = poolOf(app)
    const [a, b] = digits(model, 40, 2)
    const first = pool.workers()[0]
    faults.trapNextJob()
    const trapped = await classifyDigit(app, owner, session, a.x)
    expect(trapped.status).toBe(500)
    expect(trapped.code).toBe('seal_fault')
    await until(() => pool.workers().length === 1 && pool.workers()[0] !== first && pool.isReady(), 'the replacement worker')
    expect(pool.stats.retired.seal_fault).toBe(1)
    expect(pool.stats.crashes).toBe(0)
    for (const d of [a, b]) expect((await classifyDigit(app, owner, session, d.x)).predicted).toBe(d.expected)
    await app.close()
    owner.dispose()
  })

  it('a worker whose WASM heap passed the bound answers, then retires and is replaced', async () => {
    // a bound below what loading the model already takes: every job ends in retirement
    ;({ app, model } = await startApp({ poolSize: 1, workerHeapLimitMb: 16 }))
    owner = await KeyOwner.create(await publicModelOf(app))
    const session = await newSession(app, owner) // the key validation job retires its worker too
    const pool = poolOf(app)
    for (const d of digits(model, 50, 3)) {
      await until(() => pool.isReady() && pool.workers().length === 1, 'a ready worker')
      const r = await classifyDigit(app, owner, session, d.x)
      expect(r.status).toBe(200)
      expect(r.predicted).toBe(d.expected)
    }
    expect(pool.stats.retired.heap_limit).toBeGreaterThanOrEqual(4)
    expect(pool.stats.crashes).toBe(0)
  })
})
