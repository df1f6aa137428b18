import { describe, expect, it } from 'vitest'
import { HttpError } from './http-error'
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

  it("never evicts another client's session: a full store refuses with 503 sessions_full and Retry-After", () => {
    const { s, dropped, advance } = store({ maxSessions: 3, perClientSessions: 2 })
    s.add('v', 'm', new Uint8Array(1), 'victim')
    advance(10)
    s.add('a1', 'm', new Uint8Array(1), 'attacker')
    s.add('a2', 'm', new Uint8Array(1), 'attacker')
    // the attacker at its quota replaces its own sessions, however often it uploads
    for (let i = 0; i < 100; i++) s.add(`a${i + 3}`, 'm', new Uint8Array(1), 'attacker')
    expect(s.touch('v')).toBeDefined()
    expect(dropped).not.toContain('v')
    // a third client finds the store full: refused, nothing evicted
    const before = dropped.length
    expect(refusal(() => s.admit('third', 1))).toEqual({ status: 503, code: 'sessions_full', retryAfter: '1' })
    expect(refusal(() => s.add('t', 'm', new Uint8Array(1), 'third'))).toMatchObject({ status: 503, code: 'sessions_full' })
    expect(dropped).toHaveLength(before)
    expect(s.size).toBe(3)
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
