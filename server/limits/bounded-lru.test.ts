import { describe, expect, it } from 'vitest'
import { BoundedLru } from './bounded-lru'

describe('BoundedLru', () => {
  it('forgets the least recently used key', () => {
    const lru = new BoundedLru<string, number>(2)
    lru.getOrCreate('a', () => 1)
    lru.getOrCreate('b', () => 2)
    lru.get('a')
    lru.getOrCreate('c', () => 3)
    expect([lru.has('a'), lru.has('b'), lru.has('c')]).toEqual([true, false, true])
  })
})
