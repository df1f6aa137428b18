/**
 * The Redis session store's rules against a real redis-server (no evaluator, no SEAL): the
 * same quotas as the in-memory SessionStore, binary keys, sliding TTL, 503 while Redis is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { HttpError } from '../http/http-error'
import { startRedis, type TestRedis } from '../test-support/redis'
import { JobMac } from './job-mac'
import { redisKeys } from './redis-keys'
import { RedisSessionStore } from './redis-sessions'
import { openKeys } from './stored-keys'

let redis: TestRedis
let client: Redis
const stores: RedisSessionStore[] = []
const jobMac = new JobMac('a job key for the session store tests, 32+ chars')

function store(o: Partial<ConstructorParameters<typeof RedisSessionStore>[0]> = {}): RedisSessionStore {
  const s = new RedisSessionStore({
    redisUrl: redis.url,
    ttlMs: 60_000,
    maxSessions: 4,
    maxBytes: 1000,
    perClientSessions: 2,
    perClientBytes: 500,
    jobMac,
    ...o,
  })
  stores.push(s)
  return s
}

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill)
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: HttpError) => ({ status: e.statusCode, code: e.code, retryAfter: e.headers['retry-after'] }),
  )

beforeAll(async () => {
  redis = await startRedis()
  client = new Redis(redis.url)
  client.on('error', () => {}) // while the fault tests stop Redis
})
afterAll(async () => {
  for (const s of stores) await s.close()
  await client?.quit()
  await redis?.stop()
})

describe('RedisSessionStore', () => {
  it('stores the keys as binary behind their MAC, with the TTL; another store (replica) sees the session', async () => {
    await client.flushall()
    const a = store()
    const b = store()
    await Promise.all([a.ready, b.ready])
    const keys = Uint8Array.from([0, 255, 1, 0, 128, 10, 13])
    const s = await a.add('s1', 'mnist-cnn', keys, 'client-1')
    expect(s.expiresAt).toBeGreaterThan(Date.now() + 50_000)
    const stored = (await client.getBuffer(redisKeys.keys('s1')))!
    expect(Buffer.compare(openKeys(jobMac, 's1', 'mnist-cnn', stored), Buffer.from(keys))).toBe(0)
    // bound to the session and model it was stored for
    expect(() => openKeys(jobMac, 's2', 'mnist-cnn', stored)).toThrow(/did not verify/)
    expect(() => openKeys(jobMac, 's1', 'fashion-cnn', stored)).toThrow(/did not verify/)
    expect(() => openKeys(jobMac, 's1', 'mnist-cnn', Buffer.from(keys))).toThrow(/did not verify/)
    expect(await client.pttl(redisKeys.keys('s1'))).toBeGreaterThan(50_000)
    expect(await b.peek('s1')).toMatchObject({ id: 's1', model: 'mnist-cnn', owner: 'client-1', queries: 0 })
    expect(await b.peek('nope')).toBeUndefined()
  })

  it('slides the TTL on touch, not on peek, and expires the session', async () => {
    await client.flushall()
    const s = store({ ttlMs: 600 })
    await s.ready
    await s.add('t1', 'm', bytes(10), 'c')
    await new Promise((r) => setTimeout(r, 400))
    expect(await s.peek('t1')).toBeDefined()
    expect(await client.pttl(redisKeys.keys('t1'))).toBeLessThan(300)
    expect(await s.touch('t1')).toBeDefined()
    expect(await client.pttl(redisKeys.keys('t1'))).toBeGreaterThan(400)
    await new Promise((r) => setTimeout(r, 700))
    expect(await s.touch('t1')).toBeUndefined()
    expect(await client.exists(redisKeys.keys('t1'))).toBe(0)
    await s.refresh()
    expect([s.size, s.totalBytes]).toEqual([0, 0])
  })

  it("makes room from the client's own least recently used sessions, never another's", async () => {
    await client.flushall()
    const s = store()
    await s.ready
    await s.add('o1', 'm', bytes(100), 'alice')
    await s.add('o2', 'm', bytes(100), 'alice')
    await s.touch('o1') // o2 is now alice's least recent
    await s.add('o3', 'm', bytes(100), 'alice') // over 2 sessions: o2 goes
    expect(await s.peek('o2')).toBeUndefined()
    expect(await s.peek('o1')).toBeDefined()
    // bytes: 450 more does not fit beside alice's 200 within 500: both go
    await s.add('o4', 'm', bytes(450), 'alice')
    expect([await s.peek('o1'), await s.peek('o3')]).toEqual([undefined, undefined])
    await s.refresh()
    expect([s.size, s.totalBytes]).toEqual([1, 450])
  })

  it('when full, a new client takes the place of a client over its share; with every client within its share, 503 sessions_full (Retry-After) and 413 when too large, evicting nobody', async () => {
    await client.flushall()
    const s = store()
    await s.ready
    for (const [id, who] of [['f1', 'a'], ['f2', 'a'], ['f3', 'b'], ['f4', 'c']]) await s.add(id, 'm', bytes(10), who)
    // 4 clients share 4 sessions: a's two are over its share, its least recent makes room
    await s.add('f5', 'm', bytes(10), 'e')
    expect(await s.peek('f1')).toBeUndefined()
    for (const id of ['f2', 'f3', 'f4', 'f5']) expect(await s.peek(id)).toBeDefined()
    // one session each: within every share, so a fifth client is refused
    const full = await refusal(s.add('g1', 'm', bytes(10), 'g'))
    expect(full).toMatchObject({ status: 503, code: 'sessions_full' })
    expect(Number(full!.retryAfter)).toBeGreaterThan(0)
    expect(await refusal(s.admit('g', 10))).toMatchObject({ status: 503, code: 'sessions_full' })
    expect(await refusal(s.admit('g', 501))).toMatchObject({ status: 413, code: 'body_too_large' })
    for (const id of ['f2', 'f3', 'f4', 'f5']) expect(await s.peek(id)).toBeDefined()
    // a client holding a session still gets in, in place of its own least recent session
    await s.add('f6', 'm', bytes(10), 'a')
    expect(await s.peek('f2')).toBeUndefined()
    for (const id of ['f3', 'f4', 'f5', 'f6']) expect(await s.peek(id)).toBeDefined()
  })

  it('16 addresses filling the store do not lock a new client out; a client within its share keeps its session; an idle session makes room', async () => {
    await client.flushall()
    const s = store({ maxSessions: 1000, maxBytes: 1000, perClientSessions: 4, perClientBytes: 100, idleMs: 60_000 })
    await s.ready
    await s.add('victim', 'm', bytes(10), 'victim')
    for (let round = 0; round < 4; round++) for (let a = 1; a <= 16; a++) await s.add(`s${a}-${round}`, 'm', bytes(15), `10.0.0.${a}`)
    await s.touch('victim')
    // 18 clients share 1000 bytes (55 each): the attackers' 60 are over it
    await s.add('newcomer', 'm', bytes(50), 'newcomer')
    expect([await s.peek('s1-0'), await s.peek('s2-0')]).toEqual([undefined, undefined])
    expect(await s.peek('s3-0')).toBeDefined()
    expect(await s.peek('victim')).toBeDefined()
    expect(await s.peek('newcomer')).toBeDefined()
    await s.refresh()
    expect(s.totalBytes).toBe(990)

    // idle: with idleMs 0 every session is idle, so the least recently used one goes, whoever holds it
    await client.flushall()
    const quick = store({ idleMs: 0 })
    await quick.ready
    for (const [id, who] of [['i1', 'a'], ['i2', 'b'], ['i3', 'c'], ['i4', 'd']]) await quick.add(id, 'm', bytes(10), who)
    await quick.add('i5', 'm', bytes(10), 'e')
    expect(await quick.peek('i1')).toBeUndefined()
    for (const id of ['i2', 'i3', 'i4', 'i5']) expect(await quick.peek(id)).toBeDefined()
  })

  it('counts queries in Redis; delete removes everything', async () => {
    await client.flushall()
    const a = store()
    const b = store()
    await Promise.all([a.ready, b.ready])
    await a.add('q1', 'm', bytes(10), 'c')
    const s = (await a.touch('q1'))!
    s.queries++
    s.queries++
    s.queries--
    await new Promise((r) => setTimeout(r, 100))
    expect((await b.touch('q1'))!.queries).toBe(1)
    expect(await b.delete('q1')).toBe(true)
    expect(await a.delete('q1')).toBe(false)
    expect((await client.keys('bf:*')).sort()).toEqual(['bf:seq', 'bf:total'])
    expect(await client.get('bf:total')).toBe('0')
  })

  it('answers 503 store_unavailable with Retry-After while Redis is down', async () => {
    const s = store()
    await s.ready
    await redis.kill()
    try {
      const down = await refusal(s.touch('x'))
      expect(down).toMatchObject({ status: 503, code: 'store_unavailable' })
      expect(Number(down!.retryAfter)).toBeGreaterThan(0)
    } finally {
      await redis.start()
    }
    const end = Date.now() + 10_000
    for (;;) {
      const r = await refusal(s.touch('x'))
      if (r === undefined) break
      if (Date.now() > end) throw new Error('the store did not reconnect')
      await new Promise((res) => setTimeout(res, 100))
    }
  })
})
