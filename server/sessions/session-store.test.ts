import { describe, expect, it } from 'vitest'
import { HttpError } from '../http/http-error'
import { SessionStore } from './session-store'

function store(over: Partial<ConstructorParameters<typeof SessionStore>[0]> = {}) {
  let t = 1000
  const dropped: string[] = []
  const s = new SessionStore({
    ttlMs: 100,
    maxSessions: 3,
    maxBytes: 100,
    perClientSessions: 3,
    perClientBytes: 100,
    onDrop: (id) => dropped.push(id),
    now: () => t,
    ...over,
  })
  return { s, dropped, advance: (ms: number) => (t += ms) }
}

function refusal(f: () => unknown): { status: number; code: string; retryAfter?: string } {
  try {
    f()
  } catch (e) {
    if (e instanceof HttpError) return { status: e.statusCode, code: e.code, retryAfter: e.headers['retry-after'] }
    throw e
  }
  throw new Error('not refused')
}

describe('SessionStore', () => {
  it('expires after the TTL and slides it on use', () => {
    const { s, dropped, advance } = store()
    s.add('a', 'm', new Uint8Array(10), 'c1')
    advance(80)
    expect(s.touch('a')?.model).toBe('m')
    advance(80) // 160 since creation, 80 since last use
    expect(s.touch('a')).toBeDefined()
    advance(100)
    expect(s.touch('a')).toBeUndefined()
    expect(dropped).toEqual(['a'])
    expect(s.totalBytes).toBe(0)
    s.close()
  })

  it("evicts a client's own least recently used session at its count quota", () => {
    const { s, dropped } = store({ maxSessions: 10, perClientSessions: 3 })
    s.add('other', 'm', new Uint8Array(1), 'c2')
    s.add('a', 'm', new Uint8Array(1), 'c1')
    s.add('b', 'm', new Uint8Array(1), 'c1')
    s.add('c', 'm', new Uint8Array(1), 'c1')
    s.touch('a')
    s.add('d', 'm', new Uint8Array(1), 'c1')
    expect(dropped).toEqual(['b'])
    expect(s.touch('a')?.owner).toBe('c1')
    expect(s.touch('other')?.owner).toBe('c2')
    s.close()
  })

  it("evicts a client's own sessions to stay under its byte quota", () => {
    const { s, dropped } = store({ maxSessions: 10, maxBytes: 1000, perClientBytes: 100 })
    s.add('x', 'm', new Uint8Array(90), 'c2')
    s.add('a', 'm', new Uint8Array(60), 'c1')
    s.add('b', 'm', new Uint8Array(30), 'c1')
    s.add('c', 'm', new Uint8Array(30), 'c1')
    expect(dropped).toEqual(['a'])
    expect(s.totalBytes).toBe(150)
    expect(refusal(() => s.add('big', 'm', new Uint8Array(101), 'c1'))).toMatchObject({ status: 413, code: 'body_too_large' })
    s.close()
  })

  it("never evicts a client within its share: a full store then refuses with 503 sessions_full and Retry-After", () => {
    const { s, dropped, advance } = store({ maxSessions: 3, perClientSessions: 2 })
    s.add('v', 'm', new Uint8Array(1), 'victim')
    advance(10)
    s.add('a1', 'm', new Uint8Array(1), 'attacker')
    s.add('a2', 'm', new Uint8Array(1), 'attacker')
    // the attacker at its quota replaces its own sessions, however often it uploads
    for (let i = 0; i < 100; i++) s.add(`a${i + 3}`, 'm', new Uint8Array(1), 'attacker')
    expect(s.touch('v')).toBeDefined()
    expect(dropped).not.toContain('v')
    // a third client finds the store full: it takes the place of the attacker's least recent
    // session (3 clients share 3 sessions: the attacker's 2 are over its share), not the victim's
    s.add('t', 'm', new Uint8Array(1), 'third')
    expect(dropped.at(-1)).toBe('a101')
    expect(s.touch('v')).toBeDefined()
    // a fourth finds every client within its share (one session each): refused, nothing evicted
    const before = dropped.length
    expect(refusal(() => s.admit('fourth', 1))).toEqual({ status: 503, code: 'sessions_full', retryAfter: '1' })
    expect(refusal(() => s.add('f', 'm', new Uint8Array(1), 'fourth'))).toMatchObject({ status: 503, code: 'sessions_full' })
    expect(dropped).toHaveLength(before)
    expect(s.size).toBe(3)
    s.close()
  })

  it('16 addresses filling the store do not lock a new client out; a client within its share keeps its session', () => {
    // sized by bytes: 16 x 4 sessions of 15 bytes and the victim's 10 fill 970 of 1000
    const { s, dropped, advance } = store({ ttlMs: 60_000, idleMs: 30_000, maxSessions: 1000, maxBytes: 1000, perClientSessions: 4, perClientBytes: 100 })
    s.add('victim-session', 'm', new Uint8Array(10), 'victim')
    for (let round = 0; round < 4; round++) {
      for (let a = 1; a <= 16; a++) {
        advance(1)
        s.add(`s${a}-${round}`, 'm', new Uint8Array(15), `10.0.0.${a}`)
      }
    }
    expect(s.totalBytes).toBe(970)
    advance(1)
    expect(s.touch('victim-session')).toBeDefined() // active
    // a new client: 18 clients share 1000 bytes (55 each); every attacker's 60 is over it, and
    // the least recently used attacker sessions make the 20 bytes missing
    s.add('newcomer', 'm', new Uint8Array(50), 'newcomer')
    expect(dropped).toEqual(['s1-0', 's2-0'])
    expect(s.touch('victim-session')).toBeDefined()
    expect(s.totalBytes).toBe(990)
    // and the next new clients too, one attacker session each time
    for (let n = 0; n < 8; n++) s.add(`late-${n}`, 'm', new Uint8Array(15), `late-${n}`)
    expect(s.touch('victim-session')).toBeDefined()
    expect(dropped).not.toContain('victim-session')
    expect(dropped).not.toContain('newcomer')
    s.close()
  })

  it('a session idle past idleMs makes room for a new client, whoever holds it; Retry-After counts to the first idle one', () => {
    const { s, dropped, advance } = store({ ttlMs: 10_000, idleMs: 3000, maxSessions: 2, perClientSessions: 2 })
    s.add('a', 'm', new Uint8Array(1), 'c1')
    advance(1000)
    s.add('b', 'm', new Uint8Array(1), 'c2')
    // both clients within their share, nobody idle yet: refused until a's idle time is up
    expect(refusal(() => s.admit('c3', 1))).toEqual({ status: 503, code: 'sessions_full', retryAfter: '2' })
    advance(2000)
    s.add('c', 'm', new Uint8Array(1), 'c3')
    expect(dropped).toEqual(['a'])
    expect(s.touch('b')).toBeDefined()
    s.close()
  })

  it("a client's share shrinks as more clients hold sessions", () => {
    const { s, dropped } = store({ maxSessions: 6, perClientSessions: 6, maxBytes: 1000, perClientBytes: 1000 })
    for (const id of ['b1', 'b2', 'b3', 'b4']) s.add(id, 'm', new Uint8Array(1), 'big')
    s.add('o1', 'm', new Uint8Array(1), 'one')
    s.add('o2', 'm', new Uint8Array(1), 'two') // full: 6 of 6
    // a fourth client: 4 clients share 6 sessions (1 each): big loses its least recent
    s.add('t1', 'm', new Uint8Array(1), 'three')
    expect(dropped).toEqual(['b1'])
    // with two clients left holding one session each, big's share is still 1: it loses the next
    s.add('f1', 'm', new Uint8Array(1), 'four')
    expect(dropped).toEqual(['b1', 'b2'])
    expect([s.touch('o1'), s.touch('o2'), s.touch('t1')].every(Boolean)).toBe(true)
    s.close()
  })

  it('refuses on the global byte cap as on the count cap', () => {
    const { s } = store({ maxSessions: 10, maxBytes: 100, perClientBytes: 60 })
    s.add('a', 'm', new Uint8Array(60), 'c1')
    expect(refusal(() => s.add('b', 'm', new Uint8Array(50), 'c2'))).toMatchObject({ status: 503, code: 'sessions_full' })
    s.add('c', 'm', new Uint8Array(40), 'c2')
    expect(s.totalBytes).toBe(100)
    s.close()
  })

  it('sweeps expired sessions before refusing', () => {
    const { s, dropped, advance } = store({ maxSessions: 2, perClientSessions: 2 })
    s.add('a', 'm', new Uint8Array(1), 'c1')
    s.add('b', 'm', new Uint8Array(1), 'c1')
    advance(101)
    s.add('c', 'm', new Uint8Array(1), 'c2')
    expect(dropped).toEqual(['a', 'b'])
    s.close()
  })

  it('delete frees at once and reports it', () => {
    const { s, dropped } = store()
    s.add('a', 'm', new Uint8Array(5), 'c1')
    expect(s.delete('a')).toBe(true)
    expect(s.delete('a')).toBe(false)
    expect(dropped).toEqual(['a'])
    expect(s.size).toBe(0)
    s.close()
  })

  it('makes unguessable ids', () => {
    const ids = new Set(Array.from({ length: 100 }, () => SessionStore.newId()))
    expect(ids.size).toBe(100)
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{24}$/)
  })
})
