import { describe, expect, it } from 'vitest'
import { SessionStore } from './session-store'

function store(over: Partial<ConstructorParameters<typeof SessionStore>[0]> = {}) {
  let t = 1000
  const dropped: string[] = []
  const s = new SessionStore({ ttlMs: 100, maxSessions: 3, maxBytes: 100, onDrop: (id) => dropped.push(id), now: () => t, ...over })
  return { s, dropped, advance: (ms: number) => (t += ms) }
}

describe('SessionStore', () => {
  it('expires after the TTL and slides it on use', () => {
    const { s, dropped, advance } = store()
    s.add('a', 'm', new Uint8Array(10))
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

  it('evicts the least recently used session at the count cap', () => {
    const { s, dropped } = store()
    s.add('a', 'm', new Uint8Array(1))
    s.add('b', 'm', new Uint8Array(1))
    s.add('c', 'm', new Uint8Array(1))
    s.touch('a')
    s.add('d', 'm', new Uint8Array(1))
    expect(dropped).toEqual(['b'])
    expect(s.touch('a')).toBeDefined()
    s.close()
  })

  it('evicts to stay under the byte cap and refuses a single oversize entry', () => {
    const { s, dropped } = store({ maxSessions: 10 })
    s.add('a', 'm', new Uint8Array(60))
    s.add('b', 'm', new Uint8Array(30))
    s.add('c', 'm', new Uint8Array(30))
    expect(dropped).toEqual(['a'])
    expect(s.totalBytes).toBe(60)
    expect(() => s.add('x', 'm', new Uint8Array(101))).toThrow()
    s.close()
  })

  it('delete frees at once and reports it', () => {
    const { s, dropped } = store()
    s.add('a', 'm', new Uint8Array(5))
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
